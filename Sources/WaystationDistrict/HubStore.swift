import Crypto
import DistrictStorage
import Foundation
import Logging
import PostgresNIO
import WaystationLink

/// The hub's domain operations on PostgreSQL, shared by the HTTP services and the CLI.
public struct HubStore: Sendable {
    public let db: DistrictDatabase
    var client: PostgresClient { db.client }
    var logger: Logger { db.logger }

    public init(db: DistrictDatabase) { self.db = db }

    /// A station as `stations list` shows it.
    public struct Station: Sendable, Equatable {
        public var id: String
        public var name: String
        public var address: String
        public var revoked: Bool
        public var lastSeen: String?
        public var software: String?
    }

    /// Stores a new station with the SHA-256 of its token; refuses an id already enrolled.
    public func addStation(id: String, name: String, address: String, token: String) async throws {
        let hash = Data(SHA256.hash(data: Data(token.utf8)))
        do {
            try await client.query(
                "INSERT INTO stations (id, name, address, token_sha256) VALUES (\(id), \(name), \(address), \(hash))",
                logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw HubError.conflict("station \(id) is already enrolled (revoke it and enrol under a new id)")
        }
    }

    /// Marks a station revoked; false when no such station.
    public func revokeStation(_ id: String) async throws -> Bool {
        let rows = try await client.query(
            "UPDATE stations SET revoked = coalesce(revoked, now()) WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    public func stations() async throws -> [Station] {
        let rows = try await client.query(
            """
            SELECT id, name, address, revoked IS NOT NULL, rfc3339(last_seen), software
            FROM stations ORDER BY id
            """, logger: logger)
        var out: [Station] = []
        for try await (id, name, address, revoked, seen, software) in rows.decode(
            (String, String, String, Bool, String?, String?).self)
        {
            out.append(
                Station(id: id, name: name, address: address, revoked: revoked, lastSeen: seen, software: software))
        }
        return out
    }

    /// The station a bearer token belongs to, and whether it is revoked; nil for an unknown token.
    public func station(forToken token: String) async throws -> (id: String, revoked: Bool)? {
        let hash = Data(SHA256.hash(data: Data(token.utf8)))
        let rows = try await client.query(
            "SELECT id, revoked IS NOT NULL FROM stations WHERE token_sha256 = \(hash)", logger: logger)
        for try await (id, revoked) in rows.decode((String, Bool).self) { return (id, revoked) }
        return nil
    }

    /// Writes the config's categories into the table; rows change (and so reach stations) only when
    /// their values did. Categories no longer in the config become inactive.
    public func syncCategories(_ categories: [DistrictCategory]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for c in categories {
                try await connection.query(
                    """
                    INSERT INTO categories (id, name, name_zh, points) VALUES (\(c.id), \(c.name), \(c.nameZh), \(c.points))
                    ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh,
                      points = excluded.points, active = true, tx = pg_current_xact_id()
                    WHERE (categories.name, categories.name_zh, categories.points, categories.active)
                      IS DISTINCT FROM (excluded.name, excluded.name_zh, excluded.points, true)
                    """, logger: self.logger)
            }
            let ids = categories.map(\.id)
            try await connection.query(
                """
                UPDATE categories SET active = false, tx = pg_current_xact_id()
                WHERE active AND NOT (id = ANY(\(ids)))
                """, logger: self.logger)
        }
    }

    /// Adds a notice for every station (`stations` nil) or the ones named; its id.
    public func addNotice(
        title: String, titleZh: String?, body: String?, bodyZh: String?, from: String, until: String,
        stations: [String]?
    ) async throws -> Int {
        try Validate.text(title, "title", max: 200)
        try Validate.time(from, "from")
        try Validate.time(until, "until")
        let rows = try await client.query(
            """
            INSERT INTO notices (title, title_zh, body, body_zh, valid_from, valid_until, stations)
            VALUES (\(title), \(titleZh), \(body), \(bodyZh), \(from)::timestamptz, \(until)::timestamptz, \(stations))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int.self) { return id }
        throw HubError.internal("the notice was not stored")
    }

    /// Adds or replaces a partner service.
    public func putService(_ s: DistrictService, stations: [String]?) async throws {
        try await client.query(
            """
            INSERT INTO services (id, name, name_zh, description, description_zh, days, hours, stations, withdrawn)
            VALUES (\(s.id), \(s.name), \(s.nameZh), \(s.description), \(s.descriptionZh), \(s.days), \(s.hours),
              \(stations), \(s.withdrawn))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh,
              description = excluded.description, description_zh = excluded.description_zh,
              days = excluded.days, hours = excluded.hours,
              stations = excluded.stations, withdrawn = excluded.withdrawn, tx = pg_current_xact_id()
            """, logger: logger)
    }
}

/// A refusal the HTTP layer maps to a status and the CLI to a message.
public enum HubError: Error, CustomStringConvertible, Sendable, Equatable {
    case badRequest(String)
    case notFound(String)
    case conflict(String)
    case insufficient(balance: Int)
    case `internal`(String)

    public var description: String {
        switch self {
        case .badRequest(let m), .notFound(let m), .conflict(let m), .internal(let m): m
        case .insufficient(let balance): "the rider has only \(balance) points"
        }
    }
}
