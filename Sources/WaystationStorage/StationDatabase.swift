#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Logging
import WaystationCore

/// The station's one SQLite database (WAL) and its one connection, on its own serial queue
/// (`DatabaseQueue`, this module's thin layer over SQLite's C API).
///
/// Opening it applies the domains' migrations in order. Domains own their tables and queries (value
/// history in Polling, visits in Visits, alerts in Alerts); this type gives them reads, writes and
/// durable writes, and keeps the audit log every domain records changes in.
public final class StationDatabase: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// How writes are going (read by self-test, status, the watchdog and alerts).
    public let health = StorageHealth()

    /// Opens (creating if needed) and migrates the database. A damaged file (it is not a database, or
    /// `quick_check` finds problems) is moved aside — kept, named with the time — and a fresh one made;
    /// `health.status.recoveredFrom` then names it. A database written by a newer version (migrations
    /// this one does not know) is refused.
    ///
    /// - Parameter migrations: every domain's migrations; applied in `order`, each once.
    public init(path: String, migrations: [StorageMigration], logger: Logger) throws {
        self.path = path
        let dir = Self.directory(of: path)
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var migrator = DatabaseMigrator()
        for m in (migrations + Self.migrations).sorted(by: { $0.order < $1.order }) {
            migrator.registerMigration(m.identifier, migrate: m.migrate)
        }
        do {
            queue = try Self.open(path, migrator: migrator)
        } catch let error as Newer {
            throw error
        } catch {
            guard Self.isDamage(error) else { throw error }
            let aside = Self.moveAside(path)
            logger.critical(
                "the database was damaged; moved aside and started a fresh one",
                metadata: ["database": "\(path)", "kept_as": "\(aside)", "error": "\(error)"])
            queue = try Self.open(path, migrator: migrator)
            health.recovered(from: aside)
        }
        logger.debug("database open", metadata: ["path": "\(path)"])
    }

    /// Refusal to run against a database from a newer version.
    public struct Newer: Error, CustomStringConvertible {
        public var description: String
    }

    static func open(_ path: String, migrator: DatabaseMigrator) throws -> DatabaseQueue {
        var config = Configuration()
        config.journalMode = .wal
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            // WAL + NORMAL: a crash never corrupts the file or loses a committed transaction; a power
            // cut may lose the last few, never tear one. Durable writes switch to FULL. Deleted rows
            // (expired visits) are overwritten, not left readable in free pages.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // One connection and a small, bounded page cache (memory budget of a small board).
            try db.execute(sql: "PRAGMA cache_size = -512")
        }
        config.label = "waystation.db"
        let queue = try DatabaseQueue(path: path, configuration: config)
        try queue.read { db in
            // The bookkeeping table is `grdb_migrations`, as before this layer: older databases open.
            if try migrator.hasBeenSuperseded(db) {
                let known = Set(migrator.migrations)
                let unknown = try migrator.appliedIdentifiers(db).subtracting(known).sorted()
                throw Newer(
                    description:
                        "the database \(path) was written by a newer waystationd (schema \(unknown.joined(separator: ", "))); refusing to run against it: install that version again, or move the database aside"
                )
            }
            let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
            if check != ["ok"] {
                throw DatabaseError(
                    resultCode: .SQLITE_CORRUPT, message: check.prefix(3).joined(separator: "; "),
                    sql: "PRAGMA quick_check")
            }
        }
        try migrator.migrate(queue)
        return queue
    }

    static func isDamage(_ error: any Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return e.resultCode == .SQLITE_CORRUPT || e.resultCode == .SQLITE_NOTADB
    }

    /// Renames the database and its WAL and shm files to `<path>.corrupt-<time>…`; returns the new name.
    static func moveAside(_ path: String) -> String {
        let stamp = PlainText.replacing(
            ":", with: "",
            in: Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)))
        let aside = "\(path).corrupt-\(stamp)"
        for suffix in ["", "-wal", "-shm"] { rename(path + suffix, aside + suffix) }
        return aside
    }

    /// The directory part of a path ("" for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The audit log; the maintenance table, for history's sake, was born in the same migration.
    static let migrations = [
        StorageMigration(order: 2, "v2: audit and maintenance") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,          -- Unix milliseconds
                        uid INTEGER NOT NULL,
                        user TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        old TEXT,
                        new TEXT);
                    CREATE TABLE maintenance (
                        device TEXT PRIMARY KEY,
                        reason TEXT NOT NULL,
                        since INTEGER NOT NULL,
                        uid INTEGER NOT NULL,
                        user TEXT NOT NULL);
                    """)
        },
        StorageMigration(order: 11, "v11: retention horizon") { db in
            // The time retention last counted from (see RetentionClock): one row.
            try db.execute(
                sql: "CREATE TABLE retention_horizon (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL)")
        },
    ]

    /// The horizon retention last counted from, as persisted by `setRetentionHorizon`.
    public func retentionHorizon() async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT at FROM retention_horizon WHERE id = 1").map(StationDatabase.date(ms:))
        }
    }

    public func setRetentionHorizon(_ horizon: Date) async throws {
        try await write { db in
            try db.execute(
                sql:
                    "INSERT INTO retention_horizon (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                arguments: [StationDatabase.ms(horizon)])
        }
    }

    /// Reads (on the database's own queue, never on Swift's shared pool).
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await queue.read(body)
    }

    /// Writes in one transaction.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            let result = try await queue.write(body)
            health.succeeded()
            return result
        } catch {
            if !(error is CancellationError) { health.failed(error) }
            throw error
        }
    }

    /// Writes in one transaction committed with `synchronous = FULL`: durable before it returns, so a
    /// change acknowledged to a rider or an admin survives a power cut right after.
    public func durableWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            let result = try await durable(body)
            health.succeeded()
            return result
        } catch {
            if !(error is CancellationError) { health.failed(error) }
            throw error
        }
    }

    private func durable<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: T?
            try db.inTransaction {
                result = try body(db)
                return .commit
            }
            guard let result else { throw DatabaseError(message: "transaction produced no result") }
            return result
        }
    }

    /// Synchronous read, for tests and tools.
    public func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.read(body)
    }

    /// Whether the database answers a trivial query (the watchdog's test).
    public func ping() async -> Bool {
        (try? await queue.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// `PRAGMA integrity_check` ("ok" when healthy).
    public func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// `PRAGMA quick_check`: nil when healthy, else what it found (and the health marks it damaged).
    @discardableResult
    public func quickCheck() async -> String? {
        do {
            let result = try await queue.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            if result == ["ok"] { return nil }
            let detail = result.prefix(3).joined(separator: "; ")
            health.corrupted(detail)
            return detail
        } catch {
            health.failed(error)
            if Self.isDamage(error) { health.corrupted("\(error)") }
            return "\(error)"
        }
    }

    /// Bytes of the database and its WAL on disk.
    public var sizeOnDisk: Int64 {
        ["", "-wal"].reduce(Int64(0)) { total, suffix in
            var info = stat()
            return total + (stat(path + suffix, &info) == 0 ? Int64(info.st_size) : 0)
        }
    }

    /// Checkpoints the WAL into the main file and truncates it (on shutdown, after pruning).
    public func checkpoint() async throws {
        try await queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// Unix milliseconds, as every table stores time.
    public static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    public static func date(ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
}

/// One schema change of one domain. `order` places it among all domains' migrations; identifiers
/// never change once shipped (existing databases know them by name).
public struct StorageMigration: Sendable {
    public let order: Int
    public let identifier: String
    public let migrate: @Sendable (Database) throws -> Void

    public init(order: Int, _ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.order = order
        self.identifier = identifier
        self.migrate = migrate
    }
}
