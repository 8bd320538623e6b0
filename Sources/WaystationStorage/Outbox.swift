#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The durable notification outbox, and its one owner: the `outbox` table (its schema and
/// migrations), queuing a message inside a caller's transaction, and the delivery queries. Rows are
/// written in the same transaction as the change they announce (an alert's transition, a hazard
/// report) and delivered per target oldest first by the alerts domain's notifier. Alerts and reports
/// reach the table through this type only.
public struct Outbox: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    /// One outbox row: one notification for one target, delivered in id order.
    public struct Item: Sendable, Equatable {
        public var id: Int64?
        public var target: String
        public var created: Int64
        public var payload: String
        public var attempts: Int
        public var delivered: Int64?
        /// Set when the receiver refused it for good (dead letter): kept, no longer retried.
        public var failed: Int64?
    }

    /// Rung whenever a message is queued, so the notifier waits for it rather than polling the table.
    /// One for the process: a ring from another database only makes a notifier look once more.
    public static let bell = Doorbell()
    /// Rung with `bell`, for the hand-off to waystation-uplink (a waiter of its own, so an exec
    /// target's loop never takes a ring meant for it).
    public static let handOffBell = Doorbell()

    /// The table as the alerts' "v4" migration made it (that migration, shipped with several tables,
    /// calls this; its identifier cannot change).
    public static func create(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY,
                    target TEXT NOT NULL,
                    created INTEGER NOT NULL,
                    payload TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    delivered INTEGER);
                CREATE INDEX outbox_pending ON outbox(target, id) WHERE delivered IS NULL;
                """)
    }

    /// The outbox's own changes, applied after the table's creation (order 4).
    public static let migrations = [
        // Dead letters: a notification its receiver refuses for good stops blocking the ones after it.
        StorageMigration(order: 7, "v7: outbox dead letters") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN failed INTEGER")
        }
    ]

    /// Queues `payload` for the `[[notify]]` target named `target`, inside the caller's transaction.
    public static func insert(_ db: Database, target: String, payload: String, at date: Date) throws {
        try db.execute(
            sql: "INSERT INTO outbox (target, created, payload, attempts) VALUES (?, ?, ?, 0)",
            arguments: [target, StationDatabase.ms(date), payload])
        // Inside the caller's transaction: the notifier's read runs on the same one connection after
        // it, so it sees the row once committed (or nothing, if it rolled back).
        bell.ring()
        handOffBell.ring()
    }

    /// Undelivered messages per target.
    public static func pending(_ db: Database) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT target, count(*) AS n FROM outbox WHERE delivered IS NULL GROUP BY target")
        {
            try result[row["target"]] = row["n"]
        }
        return result
    }

    /// Undelivered messages per target (metrics).
    public func pending() async throws -> [String: Int] {
        try await database.read { db in try Self.pending(db) }
    }

    /// Undelivered notifications, dead letters left out (figures, self-test).
    public func backlog() async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE delivered IS NULL AND failed IS NULL") ?? 0
        }
    }

    /// The oldest undelivered notification of a target.
    public func next(target: String) async throws -> Item? {
        try await database.read { db in
            try Item.fetchOne(
                db,
                sql:
                    "SELECT * FROM outbox WHERE target = ? AND delivered IS NULL AND failed IS NULL ORDER BY id LIMIT 1",
                arguments: [target])
        }
    }

    /// The oldest `limit` undelivered notifications of a target, in order.
    public func next(target: String, limit: Int) async throws -> [Item] {
        try await database.read { db in
            try Item.fetchAll(
                db,
                sql:
                    "SELECT * FROM outbox WHERE target = ? AND delivered IS NULL AND failed IS NULL ORDER BY id LIMIT ?",
                arguments: [target, Int64(limit)])
        }
    }

    /// One row by id.
    public func item(_ id: Int64) async throws -> Item? {
        try await database.read { db in
            try Item.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id])
        }
    }

    public func markDelivered(_ id: Int64, at now: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE outbox SET delivered = ? WHERE id = ?", arguments: [StationDatabase.ms(now), id])
        }
    }

    /// Gives up on a notification its receiver refuses for good (a dead letter, kept for inspection).
    public func markFailed(_ id: Int64, at now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE outbox SET failed = ? WHERE id = ?", arguments: [StationDatabase.ms(now), id])
        }
    }

    public func markAttempt(_ id: Int64) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", arguments: [id])
        }
    }

    /// Deletes delivered and dead-lettered rows older than `cutoff` (Unix ms), inside the caller's
    /// transaction; returns how many.
    public static func prune(_ db: Database, before cutoff: Int64, limit: Int = .max) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM outbox WHERE id IN
                  (SELECT id FROM outbox WHERE delivered < ?1 OR failed < ?1 ORDER BY id LIMIT ?2)
                """,
            arguments: [cutoff, Int64(clamping: limit)])
        return db.changesCount
    }

    /// How many rows the outbox holds, delivered or not (retention's share is taken of it).
    public static func count(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox") ?? 0
    }
}

extension Outbox.Item: FetchableRecord {
    public init(row: Row) throws {
        id = try row["id"]
        target = try row["target"]
        created = try row["created"]
        payload = try row["payload"]
        attempts = try row["attempts"]
        delivered = try row["delivered"]
        failed = try row["failed"]
    }
}
