import Foundation
import GRDB

/// Alert state, silences, the notification outbox and slot interlock locks.
extension Store {
    /// An outbox row: one notification for one target, delivered in id order.
    public struct OutboxItem: Sendable, Equatable {
        public var id: Int64
        public var target: String
        public var payload: String
        public var attempts: Int
    }

    /// Saves alert instances (JSON bodies) and queues notifications, in one transaction, so a
    /// transition is never recorded without its notifications or the other way round.
    public func saveAlerts(
        _ alerts: [(fingerprint: String, state: String, body: String)], outbox: [(target: String, payload: String)]
    )
        async throws
    {
        guard !alerts.isEmpty || !outbox.isEmpty else { return }
        let now = Self.ms(Date())
        try await pool.write { db in
            for a in alerts {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO alert (fingerprint, body, state, updated) VALUES (?, ?, ?, ?)",
                    arguments: [a.fingerprint, a.body, a.state, now])
            }
            for o in outbox {
                try db.execute(
                    sql: "INSERT INTO outbox (target, created, payload) VALUES (?, ?, ?)",
                    arguments: [o.target, now, o.payload])
            }
        }
    }

    /// Every stored alert body.
    public func loadAlerts() async throws -> [String] {
        try await pool.read { db in try String.fetchAll(db, sql: "SELECT body FROM alert ORDER BY fingerprint") }
    }

    /// Deletes resolved alerts older than `before`.
    public func pruneAlerts(before: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM alert WHERE state = 'resolved' AND updated < ?", arguments: [Self.ms(before)])
            try db.execute(
                sql: "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?", arguments: [Self.ms(before)])
            try db.execute(sql: "DELETE FROM silence WHERE until < ?", arguments: [Self.ms(before)])
        }
    }

    /// The oldest undelivered notification of a target.
    public func nextOutbox(target: String) async throws -> OutboxItem? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT id, target, payload, attempts FROM outbox WHERE target = ? AND delivered IS NULL ORDER BY id LIMIT 1",
                arguments: [target]
            ).map { OutboxItem(id: $0["id"], target: $0["target"], payload: $0["payload"], attempts: $0["attempts"]) }
        }
    }

    public func markDelivered(_ id: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbox SET delivered = ? WHERE id = ?", arguments: [Self.ms(Date()), id])
        }
    }

    public func markAttempt(_ id: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", arguments: [id])
        }
    }

    /// Undelivered notifications per target (figures, self-test).
    public func outboxBacklog() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE delivered IS NULL") ?? 0
        }
    }

    public func addSilence(body: String, until: Date) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO silence (body, until) VALUES (?, ?)", arguments: [body, Self.ms(until)])
            return db.lastInsertedRowID
        }
    }

    public func activeSilences(at now: Date) async throws -> [(id: Int64, body: String)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, body FROM silence WHERE until > ? ORDER BY id", arguments: [Self.ms(now)]
            )
            .map { ($0["id"], $0["body"]) }
        }
    }

    /// Latched (tripped) slots: slot → reason.
    public func slotLocks() async throws -> [String: String] {
        try await pool.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT slot, reason FROM slot_lock") {
                result[row["slot"]] = row["reason"]
            }
            return result
        }
    }

    /// Latches or releases a slot, and audits it, in one durable transaction.
    public func setSlotLock(_ slot: String, reason: String?, audit e: AuditEntry) async throws {
        try await durableWrite { db in
            if let reason {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO slot_lock (slot, reason, at) VALUES (?, ?, ?)",
                    arguments: [slot, reason, Self.ms(e.at)])
            } else {
                try db.execute(sql: "DELETE FROM slot_lock WHERE slot = ?", arguments: [slot])
            }
            try Self.insertAudit(db, e)
        }
    }
}
