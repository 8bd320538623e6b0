import Foundation
import Logging
import PostgresNIO

/// The hub's PostgreSQL: a postgres-nio client pool, run for as long as `withRunning`'s body lasts.
/// Every query binds its values (`PostgresQuery` interpolation); no SQL is built from strings.
public final class DistrictDatabase: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(url: DatabaseURL, logger: Logger) {
        self.logger = logger
        var config: PostgresClient.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            config = .init(
                host: host, port: port, username: url.user, password: url.password, database: url.database,
                tls: .disable)
        case .socket(let path):
            config = .init(unixSocketPath: path, username: url.user, password: url.password, database: url.database)
        }
        config.options.maximumConnections = 16
        config.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: config, backgroundLogger: logger)
    }

    /// Runs the pool while `body` runs, then closes it.
    public func withRunning<T: Sendable>(_ body: @Sendable (DistrictDatabase) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await self.client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Applies the migrations not yet recorded in `schema_migrations`, in order, each in its own
    /// transaction under an advisory lock (two hubs starting at once migrate once); the versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())",
            logger: logger)
        var applied: [Int] = []
        for migration in DistrictMigrations.all {
            let did = try await client.withTransaction(logger: logger) { connection -> Bool in
                try await connection.query("SELECT pg_advisory_xact_lock(7234001)", logger: self.logger)
                let rows = try await connection.query(
                    "SELECT 1 FROM schema_migrations WHERE version = \(migration.version)", logger: self.logger)
                for try await _ in rows { return false }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: self.logger)
                return true
            }
            if did {
                applied.append(migration.version)
                logger.info("migration applied", metadata: ["version": "\(migration.version)"])
            }
        }
        return applied
    }

    /// The versions recorded in `schema_migrations`.
    public func versions() async throws -> [Int] {
        let rows = try await client.query("SELECT version FROM schema_migrations ORDER BY version", logger: logger)
        var out: [Int] = []
        for try await version in rows.decode(Int.self) { out.append(version) }
        return out
    }
}

/// `[database] url`: `postgres://user[:password]@host[:port]/database`, or
/// `postgres:///database?host=/run/postgresql&user=NAME[&port=5432]` (a Unix socket directory, as libpq).
public struct DatabaseURL: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file's full path.
        case socket(String)
    }
    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String

    public init(endpoint: Endpoint, user: String, password: String?, database: String) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    public init(parsing text: String) throws(DatabaseURLError) {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw DatabaseURLError("is not a postgres:// URL")
        }
        let query = Dictionary(
            (parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        var path = parts.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard !path.isEmpty, !path.contains("/") else { throw DatabaseURLError("names no database (…/DBNAME)") }
        database = path
        guard let user = parts.user ?? query["user"], !user.isEmpty else {
            throw DatabaseURLError("names no user (postgres://USER@host/db or ?user=USER)")
        }
        self.user = user
        password = parts.password ?? query["password"]
        let port: Int
        if let p = parts.port ?? query["port"].flatMap({ Int($0) }) {
            guard (1...65535).contains(p) else { throw DatabaseURLError("has a port outside 1...65535") }
            port = p
        } else if query["port"] != nil {
            throw DatabaseURLError("has a port that is not a number")
        } else {
            port = 5432
        }
        if let dir = query["host"], dir.hasPrefix("/") {
            endpoint = .socket("\(dir)/.s.PGSQL.\(port)")
        } else if let host = parts.host ?? query["host"], !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            throw DatabaseURLError("names no host (postgres://user@HOST/db or ?host=/socket/dir)")
        }
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
