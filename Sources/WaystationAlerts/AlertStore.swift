#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// The alerts domain's tables: alert state, silences, the notification outbox, latched slots.
public struct AlertStore: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    /// An alert's stored state.
    struct AlertRecord {
        var fingerprint: String
        var rule: String
        var device: String
        /// Stored as JSON text.
        var labels: [String: String]
        var severity: String
        var state: String
        var activeSince: Int64?
        var firedAt: Int64?
        var resolvedAt: Int64?
        var lastTrue: Int64?
        var lastNotified: Int64?
        var value: Double?
        var summary: String
        var ackBy: String?
        var ackNote: String?
        var ackAt: Int64?
        var escalated: Bool
        var updated: Int64

        init(_ a: AlertInstance, updated: Date) {
            let ms = { (d: Date?) in d.map(StationDatabase.ms) }
            fingerprint = a.fingerprint
            rule = a.rule
            device = a.device
            labels = a.labels
            severity = a.severity.rawValue
            state = a.state.rawValue
            activeSince = ms(a.activeSince)
            firedAt = ms(a.firedAt)
            resolvedAt = ms(a.resolvedAt)
            lastTrue = ms(a.lastTrue)
            lastNotified = ms(a.lastNotified)
            value = a.value.flatMap { $0.isFinite ? $0 : nil }
            summary = a.summary
            ackBy = a.ackBy
            ackNote = a.ackNote
            ackAt = ms(a.ackAt)
            escalated = a.escalated
            self.updated = StationDatabase.ms(updated)
        }

        var instance: AlertInstance {
            let date = { (ms: Int64?) in ms.map(StationDatabase.date(ms:)) }
            var a = AlertInstance(
                rule: rule, device: device, labels: labels, severity: Severity(rawValue: severity) ?? .warning,
                summary: summary)
            a.state = AlertState(rawValue: state) ?? .inactive
            a.activeSince = date(activeSince)
            a.firedAt = date(firedAt)
            a.resolvedAt = date(resolvedAt)
            a.lastTrue = date(lastTrue)
            a.lastNotified = date(lastNotified)
            a.value = value
            a.ackBy = ackBy
            a.ackNote = ackNote
            a.ackAt = date(ackAt)
            a.escalated = escalated
            return a
        }
    }

    struct SilenceRecord {
        var id: Int64?
        var matchers: [String: String]
        var until: Int64
        var by: String
        var comment: String
    }

    /// One outbox row: one notification for one target, delivered in id order.
    public struct OutboxItem: Codable, Sendable, Equatable {
        public var id: Int64?
        public var target: String
        public var created: Int64
        public var payload: String
        public var attempts: Int
        public var delivered: Int64?
        /// Set when the receiver refused it for good (dead letter): kept, no longer retried.
        public var failed: Int64?
    }

    public static let migrations = [
        StorageMigration(order: 4, "v4: alerts, silences, outbox, slot locks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert (
                        fingerprint TEXT PRIMARY KEY,
                        body TEXT NOT NULL,           -- the alert instance as JSON (until v5)
                        state TEXT NOT NULL,
                        updated INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE silence (
                        id INTEGER PRIMARY KEY,
                        body TEXT NOT NULL,           -- matchers, until, by, comment as JSON (until v5)
                        until INTEGER NOT NULL);
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY,
                        target TEXT NOT NULL,
                        created INTEGER NOT NULL,
                        payload TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        delivered INTEGER);
                    CREATE INDEX outbox_pending ON outbox(target, id) WHERE delivered IS NULL;
                    CREATE TABLE slot_lock (
                        slot TEXT PRIMARY KEY,
                        reason TEXT NOT NULL,
                        at INTEGER NOT NULL) WITHOUT ROWID;
                    """)
        },
        // Columns instead of JSON bodies; existing rows are carried over.
        StorageMigration(order: 5, "v5: alert and silence columns") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert_v5 (
                        fingerprint TEXT PRIMARY KEY,
                        rule TEXT NOT NULL,
                        device TEXT NOT NULL,
                        labels TEXT NOT NULL,         -- JSON object of label → value
                        severity TEXT NOT NULL,
                        state TEXT NOT NULL,
                        active_since INTEGER, fired_at INTEGER, resolved_at INTEGER,
                        last_true INTEGER, last_notified INTEGER,   -- Unix milliseconds
                        value REAL,
                        summary TEXT NOT NULL,
                        ack_by TEXT, ack_note TEXT, ack_at INTEGER,
                        escalated INTEGER NOT NULL,
                        updated INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT INTO alert_v5
                        SELECT fingerprint, json_extract(body, '$.rule'), json_extract(body, '$.device'),
                            json_extract(body, '$.labels'), coalesce(json_extract(body, '$.severity'), 'warning'),
                            state,
                            CAST(json_extract(body, '$.active_since') * 1000 AS INTEGER),
                            CAST(json_extract(body, '$.fired_at') * 1000 AS INTEGER),
                            CAST(json_extract(body, '$.resolved_at') * 1000 AS INTEGER),
                            CAST(json_extract(body, '$.last_true') * 1000 AS INTEGER),
                            CAST(json_extract(body, '$.last_notified') * 1000 AS INTEGER),
                            json_extract(body, '$.value'), coalesce(json_extract(body, '$.summary'), ''),
                            json_extract(body, '$.ack_by'), json_extract(body, '$.ack_note'),
                            CAST(json_extract(body, '$.ack_at') * 1000 AS INTEGER),
                            coalesce(json_extract(body, '$.escalated'), 0), updated
                        FROM alert WHERE json_valid(body) AND json_extract(body, '$.rule') IS NOT NULL;
                    DROP TABLE alert;
                    ALTER TABLE alert_v5 RENAME TO alert;
                    CREATE TABLE silence_v5 (
                        id INTEGER PRIMARY KEY,
                        matchers TEXT NOT NULL,       -- JSON object of label → value
                        until INTEGER NOT NULL,       -- Unix milliseconds
                        by TEXT NOT NULL,
                        comment TEXT NOT NULL);
                    INSERT INTO silence_v5
                        SELECT id, coalesce(json_extract(body, '$.matchers'), '{}'), until,
                            coalesce(json_extract(body, '$.by'), ''), coalesce(json_extract(body, '$.comment'), '')
                        FROM silence WHERE json_valid(body);
                    DROP TABLE silence;
                    ALTER TABLE silence_v5 RENAME TO silence;
                    """)
        },
        // Dead letters: a notification its receiver refuses for good stops blocking the ones after it.
        StorageMigration(order: 7, "v7: outbox dead letters") { db in
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN failed INTEGER")
        },
    ]

    /// Saves alert state and queues notifications in one transaction, so a transition is never
    /// recorded without its notifications or the other way round.
    public func save(_ alerts: [AlertInstance], outbox: [OutboxMessage], at now: Date) async throws {
        guard !alerts.isEmpty || !outbox.isEmpty else { return }
        try await database.write { db in
            for a in alerts { try AlertRecord(a, updated: now).save(db) }
            for o in outbox {
                var item = OutboxItem(
                    target: o.target, created: StationDatabase.ms(now), payload: o.payload, attempts: 0)
                try item.insert(db)
            }
        }
        if !outbox.isEmpty { Outbox.bell.ring() }
    }

    public func loadAlerts() async throws -> [AlertInstance] {
        try await database.read { db in
            try AlertRecord.fetchAll(db, sql: "SELECT * FROM alert ORDER BY fingerprint").map(\.instance)
        }
    }

    public func addSilence(matchers: [String: String], until: Date, by: String, comment: String) async throws
        -> SilenceEntry
    {
        try await database.write { db in
            var r = SilenceRecord(matchers: matchers, until: StationDatabase.ms(until), by: by, comment: comment)
            try r.insert(db)
            return SilenceEntry(id: r.id ?? 0, matchers: matchers, until: until, by: by, comment: comment)
        }
    }

    /// Ends a silence now; nil when there is no such silence still in force.
    public func expireSilence(id: Int64, at now: Date) async throws -> SilenceEntry? {
        let ms = StationDatabase.ms(now)
        return try await database.write { db in
            guard
                let r = try SilenceRecord.fetchOne(
                    db, sql: "SELECT * FROM silence WHERE id = ? AND until > ?", arguments: [id, ms])
            else { return nil }
            try db.execute(sql: "UPDATE silence SET until = ? WHERE id = ?", arguments: [ms, id])
            return SilenceEntry(
                id: id, matchers: r.matchers, until: StationDatabase.date(ms: r.until), by: r.by, comment: r.comment)
        }
    }

    public func activeSilences(at now: Date) async throws -> [SilenceEntry] {
        try await database.read { db in
            try SilenceRecord.fetchAll(
                db, sql: "SELECT * FROM silence WHERE until > ? ORDER BY id", arguments: [StationDatabase.ms(now)]
            ).map {
                SilenceEntry(
                    id: $0.id ?? 0, matchers: $0.matchers, until: StationDatabase.date(ms: $0.until), by: $0.by,
                    comment: $0.comment)
            }
        }
    }

    /// The oldest undelivered notification of a target.
    public func nextOutbox(target: String) async throws -> OutboxItem? {
        try await database.read { db in
            try OutboxItem.fetchOne(
                db,
                sql:
                    "SELECT * FROM outbox WHERE target = ? AND delivered IS NULL AND failed IS NULL ORDER BY id LIMIT 1",
                arguments: [target])
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

    /// Undelivered notifications (figures, self-test).
    public func outboxBacklog() async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE delivered IS NULL AND failed IS NULL") ?? 0
        }
    }

    /// Latched (tripped) slots: slot → reason.
    public func slotLocks() async throws -> [String: String] {
        try await database.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT slot, reason FROM slot_lock") {
                try result[row["slot"]] = row["reason"]
            }
            return result
        }
    }

    /// Latches or releases a slot, and audits it, in one durable transaction.
    public func setSlotLock(_ slot: String, reason: String?, audit e: AuditRecord) async throws {
        try await database.durableWrite { db in
            if let reason {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO slot_lock (slot, reason, at) VALUES (?, ?, ?)",
                    arguments: [slot, reason, e.at])
            } else {
                try db.execute(sql: "DELETE FROM slot_lock WHERE slot = ?", arguments: [slot])
            }
            try e.insert(db)
        }
    }

    /// Deletes resolved alerts, delivered notifications and expired silences older than `before`.
    @discardableResult
    public func prune(before: Date) async throws -> Int {
        try await database.write { db in
            let cutoff = StationDatabase.ms(before)
            try db.execute(sql: "DELETE FROM alert WHERE state = 'resolved' AND updated < ?", arguments: [cutoff])
            var removed = db.changesCount
            try db.execute(sql: "DELETE FROM outbox WHERE delivered < ?1 OR failed < ?1", arguments: [cutoff])
            removed += db.changesCount
            try db.execute(sql: "DELETE FROM silence WHERE until < ?", arguments: [cutoff])
            return removed + db.changesCount
        }
    }
}
