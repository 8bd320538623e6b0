#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The durable notification outbox (the `outbox` table, created with the alerts domain's tables):
/// rows written in the same transaction as the change they announce, delivered per target oldest
/// first by the alerts domain's notifier. Any domain may queue a message here.
public enum Outbox {
    /// Rung whenever a message is queued, so the notifier waits for it rather than polling the table.
    /// One for the process: a ring from another database only makes a notifier look once more.
    public static let bell = Doorbell()

    /// Queues `payload` for the `[[notify]]` target named `target`, inside the caller's transaction.
    public static func insert(_ db: Database, target: String, payload: String, at date: Date) throws {
        try db.execute(
            sql: "INSERT INTO outbox (target, created, payload, attempts) VALUES (?, ?, ?, 0)",
            arguments: [target, StationDatabase.ms(date), payload])
        // Inside the caller's transaction: the notifier's read runs on the same one connection after
        // it, so it sees the row once committed (or nothing, if it rolled back).
        bell.ring()
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
}
