#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// The alerts domain's tables: alert state, silences, latched slots. Notifications go through the
/// outbox's owner, `Outbox` (in storage), in the same transaction as the alert state they announce.
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
                    CREATE TABLE slot_lock (
                        slot TEXT PRIMARY KEY,
                        reason TEXT NOT NULL,
                        at INTEGER NOT NULL) WITHOUT ROWID;
                    """)
            // Shipped in this migration; the table's owner keeps its shape.
            try Outbox.create(db)
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
        // A latch's kind as a value (it was read back from the start of the English reason, so a
        // "storage recovered" latch showed as overheated). Old rows get it derived once, here.
        StorageMigration(order: 9, "v9: slot lock kinds") { db in
            try db.execute(
                sql: """
                    ALTER TABLE slot_lock ADD COLUMN kind TEXT NOT NULL DEFAULT 'overheated';
                    UPDATE slot_lock SET kind = CASE
                        WHEN reason LIKE 'smoke%' THEN 'smoke'
                        WHEN reason LIKE 'temperature sensor lost%' THEN 'sensor_lost'
                        WHEN reason LIKE 'temperature rising%' THEN 'temperature_rising'
                        WHEN reason LIKE 'drawing%' THEN 'no_battery'
                        WHEN reason LIKE 'storage recovered%' THEN 'storage_recovered'
                        ELSE 'overheated' END;
                    """)
        },
    ]

    /// Saves alert state and queues notifications in one transaction, so a transition is never
    /// recorded without its notifications or the other way round.
    public func save(_ alerts: [AlertInstance], outbox: [OutboxMessage], at now: Date) async throws {
        guard !alerts.isEmpty || !outbox.isEmpty else { return }
        try await database.write { db in
            for a in alerts { try AlertRecord(a, updated: now).save(db) }
            for o in outbox { try Outbox.insert(db, target: o.target, payload: o.payload, at: now) }
        }
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

    /// Latched (tripped) slots: slot → kind and reason.
    public func slotLocks() async throws -> [String: InterlockLogic.Latch] {
        try await database.read { db in
            var result: [String: InterlockLogic.Latch] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT slot, kind, reason FROM slot_lock") {
                let kind: String = try row["kind"]
                // A kind this version does not know still holds the slot off (its words say why).
                try result[row["slot"]] = InterlockLogic.Latch(
                    InterlockLogic.Kind(rawValue: kind) ?? .overheated, row["reason"])
            }
            return result
        }
    }

    /// Latches (with its kind and reason) or releases a slot, and audits it, in one durable transaction.
    public func setSlotLock(_ slot: String, _ latch: InterlockLogic.Latch?, audit e: AuditRecord) async throws {
        try await database.durableWrite { db in
            if let latch {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO slot_lock (slot, kind, reason, at) VALUES (?, ?, ?, ?)",
                    arguments: [slot, latch.kind.rawValue, latch.reason, e.at])
            } else {
                try db.execute(sql: "DELETE FROM slot_lock WHERE slot = ?", arguments: [slot])
            }
            try e.insert(db)
        }
    }

    /// Deletes resolved alerts, delivered notifications and expired silences older than `before`,
    /// oldest first, at most `limit(count)` of each table's `count` rows.
    @discardableResult
    public func prune(before: Date, limit: @escaping @Sendable (Int) -> Int = { $0 }) async throws -> Int {
        try await database.write { db in
            let cutoff = StationDatabase.ms(before)
            var removed = 0
            for (table, key, condition) in [
                ("alert", "fingerprint", "state = 'resolved' AND updated < ?1 ORDER BY updated"),
                ("silence", "id", "until < ?1 ORDER BY until"),
            ] {
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
                try db.execute(
                    sql:
                        "DELETE FROM \(table) WHERE \(key) IN (SELECT \(key) FROM \(table) WHERE \(condition) LIMIT ?2)",
                    arguments: [cutoff, limit(count)])
                removed += db.changesCount
            }
            removed += try Outbox.prune(db, before: cutoff, limit: limit(try Outbox.count(db)))
            return removed
        }
    }
}
