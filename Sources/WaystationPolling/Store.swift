import Foundation
import GRDB
import WaystationCore

/// The station's SQLite database (WAL, migrations, one writer) through GRDB.
///
/// Everything one poll cycle produces is written in one transaction. Values are stored sparsely
/// (see `PointRecorder`) with integer timestamps and series ids, to keep bytes written low.
public actor Store {
    public nonisolated let path: String
    let pool: DatabasePool
    private var seriesIDs: [PointRecorder.SeriesKey: Int64] = [:]

    /// Everything one poll cycle produced.
    public struct CycleRecord: Sendable {
        public var values: [PointRecorder.StoredValue] = []
        public var aggregates: [PointRecorder.Aggregate] = []
        public var transitions: [(device: String, transition: DeviceHealth.Transition)] = []
        /// Newly learned split addresses, per device.
        public var splits: [(device: String, table: RegisterTable, address: Int)] = []
        public init() {}
        public var isEmpty: Bool { values.isEmpty && aggregates.isEmpty && transitions.isEmpty && splits.isEmpty }

        /// Adds another record's rows after this one's.
        public mutating func append(_ other: CycleRecord) {
            values += other.values
            aggregates += other.aggregates
            transitions += other.transitions
            splits += other.splits
        }

        /// Puts another record's rows before this one's.
        public mutating func prepend(_ other: CycleRecord) {
            var merged = other
            merged.append(self)
            self = merged
        }
    }

    /// Opens (creating if needed) and migrates the database.
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var config = Configuration()
        config.prepareDatabase { db in
            // WAL + NORMAL: a crash never corrupts the file or loses a committed transaction;
            // a power cut may lose the last few, never tear one.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA busy_timeout = 5000")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: history") { db in
            try db.execute(
                sql: """
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY,
                        device TEXT NOT NULL,
                        point TEXT NOT NULL,
                        UNIQUE (device, point));
                    CREATE TABLE point_value (
                        series INTEGER NOT NULL REFERENCES series(id),
                        at INTEGER NOT NULL,          -- Unix milliseconds
                        value REAL,                   -- NULL: the device reported "no reading"
                        -- Time first: each flush appends to the end of the tree instead of touching
                        -- one page per series (flash wear), and pruning is a range delete.
                        PRIMARY KEY (at, series)) WITHOUT ROWID;
                    CREATE TABLE point_aggregate (
                        series INTEGER NOT NULL REFERENCES series(id),
                        minute INTEGER NOT NULL,      -- Unix seconds, start of the minute
                        min REAL NOT NULL, max REAL NOT NULL, avg REAL NOT NULL, count INTEGER NOT NULL,
                        PRIMARY KEY (minute, series)) WITHOUT ROWID;
                    CREATE TABLE device_state (
                        id INTEGER PRIMARY KEY,
                        device TEXT NOT NULL,
                        at INTEGER NOT NULL,          -- Unix milliseconds
                        from_state TEXT NOT NULL,
                        state TEXT NOT NULL,
                        cause TEXT NOT NULL);
                    CREATE INDEX device_state_device ON device_state(device, at);
                    CREATE TABLE learned_split (
                        device TEXT NOT NULL,
                        tbl TEXT NOT NULL,
                        address INTEGER NOT NULL,
                        PRIMARY KEY (device, tbl, address)) WITHOUT ROWID;
                    """)
        }
        m.registerMigration("v2: audit and maintenance") { db in
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
        }
        m.registerMigration("v3: visits") { db in
            try db.execute(
                sql: """
                    CREATE TABLE visit (
                        id INTEGER PRIMARY KEY,
                        worker TEXT NOT NULL,         -- HMAC-SHA256 of the rider id, never the id
                        category TEXT NOT NULL,
                        source TEXT,
                        checked_in INTEGER NOT NULL,  -- Unix milliseconds
                        checked_out INTEGER,
                        closed_by TEXT);              -- rider, auto
                    CREATE INDEX visit_open ON visit(worker) WHERE checked_out IS NULL;
                    CREATE INDEX visit_checked_in ON visit(checked_in);
                    """)
        }
        m.registerMigration("v4: alerts, silences, outbox, slot locks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE alert (
                        fingerprint TEXT PRIMARY KEY,
                        body TEXT NOT NULL,           -- the alert instance as JSON
                        state TEXT NOT NULL,
                        updated INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE silence (
                        id INTEGER PRIMARY KEY,
                        body TEXT NOT NULL,           -- matchers, until, by, comment as JSON
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
        }
        return m
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// Writes one cycle's rows in one transaction.
    public func write(_ record: CycleRecord) async throws {
        guard !record.isEmpty else { return }
        let known = seriesIDs
        // Runs on GRDB's writer queue, not on Swift's shared pool.
        let learned = try await pool.write { db -> [PointRecorder.SeriesKey: Int64] in
            var learned: [PointRecorder.SeriesKey: Int64] = [:]
            func id(_ key: PointRecorder.SeriesKey) throws -> Int64 {
                if let found = known[key] ?? learned[key] { return found }
                let found = try self.seriesIDSync(db, key)
                learned[key] = found
                return found
            }
            for v in record.values {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO point_value (series, at, value) VALUES (?, ?, ?)",
                    arguments: [try id(v.series), Self.ms(v.at), v.value])
            }
            for a in record.aggregates {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO point_aggregate (series, minute, min, max, avg, count)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [try id(a.series), a.minute, a.min, a.max, a.avg, a.count])
            }
            for (device, t) in record.transitions {
                try db.execute(
                    sql: "INSERT INTO device_state (device, at, from_state, state, cause) VALUES (?, ?, ?, ?, ?)",
                    arguments: [device, Self.ms(t.at), t.from.rawValue, t.to.rawValue, t.cause])
            }
            for s in record.splits {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO learned_split (device, tbl, address) VALUES (?, ?, ?)",
                    arguments: [s.device, s.table.rawValue, s.address])
            }
            return learned
        }
        seriesIDs.merge(learned) { a, _ in a }
    }

    /// Used inside a write closure, where the actor's cache cannot be touched.
    nonisolated func seriesIDSync(_ db: Database, _ key: PointRecorder.SeriesKey) throws -> Int64 {
        try db.execute(
            sql: "INSERT OR IGNORE INTO series (device, point) VALUES (?, ?)", arguments: [key.device, key.point])
        guard
            let id = try Int64.fetchOne(
                db, sql: "SELECT id FROM series WHERE device = ? AND point = ?", arguments: [key.device, key.point])
        else { throw DatabaseError(message: "series \(key.device).\(key.point) vanished") }
        return id
    }

    /// Learned read splits, per device.
    public func loadSplits() throws -> [String: RequestPlanner.Barriers] {
        try pool.read { db in
            var result: [String: RequestPlanner.Barriers] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT device, tbl, address FROM learned_split") {
                guard let table = RegisterTable(rawValue: row["tbl"]) else { continue }
                result[row["device"], default: [:]][table, default: []].insert(row["address"])
            }
            return result
        }
    }

    /// Deletes raw values and aggregates older than their retention; returns rows removed.
    @discardableResult
    public func prune(now: Date, retainValues: TimeInterval, retainAggregates: TimeInterval) async throws
        -> (values: Int, aggregates: Int)
    {
        // The primary keys start with the time: both deletes are range deletes.
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM point_value WHERE at < ?", arguments: [Self.ms(now.addingTimeInterval(-retainValues))]
            )
            let values = db.changesCount
            try db.execute(
                sql: "DELETE FROM point_aggregate WHERE minute < ?",
                arguments: [Int64(now.addingTimeInterval(-retainAggregates).timeIntervalSince1970)])
            let aggregates = db.changesCount
            try db.execute(
                sql: "DELETE FROM device_state WHERE at < ?",
                arguments: [Self.ms(now.addingTimeInterval(-retainAggregates))])
            return (values, aggregates)
        }
    }

    /// Stored rows of one point (tests, reports).
    public func valueCount(device: String, point: String) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM point_value v JOIN series s ON s.id = v.series
                    WHERE s.device = ? AND s.point = ?
                    """, arguments: [device, point]) ?? 0
        }
    }

    /// Stored values of one point, oldest first.
    public func values(device: String, point: String) throws -> [(at: Date, value: Double?)] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT v.at, v.value FROM point_value v JOIN series s ON s.id = v.series
                    WHERE s.device = ? AND s.point = ? ORDER BY v.at
                    """, arguments: [device, point]
            ).map { (Date(timeIntervalSince1970: Double($0["at"] as Int64) / 1000), $0["value"]) }
        }
    }

    /// Recorded state transitions of a device, oldest first.
    public func transitions(device: String) throws -> [(at: Date, from: String, to: String, cause: String)] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT at, from_state, state, cause FROM device_state WHERE device = ? ORDER BY id",
                arguments: [device]
            ).map {
                (
                    Date(timeIntervalSince1970: Double($0["at"] as Int64) / 1000), $0["from_state"], $0["state"],
                    $0["cause"]
                )
            }
        }
    }

    /// Aggregate rows stored for one point.
    public func aggregateCount(device: String, point: String) throws -> Int {
        try pool.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM point_aggregate a JOIN series s ON s.id = a.series
                    WHERE s.device = ? AND s.point = ?
                    """, arguments: [device, point]) ?? 0
        }
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// One recorded change: who, when, what, old → new.
    public struct AuditEntry: Sendable, Equatable {
        public var at: Date
        public var uid: UInt32
        public var user: String
        public var action: String
        public var target: String
        public var old: String?
        public var new: String?

        public init(at: Date, uid: UInt32, user: String, action: String, target: String, old: String?, new: String?) {
            self.at = at
            self.uid = uid
            self.user = user
            self.action = action
            self.target = target
            self.old = old
            self.new = new
        }
    }

    static func insertAudit(_ db: Database, _ e: AuditEntry) throws {
        try db.execute(
            sql: "INSERT INTO audit (at, uid, user, action, target, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [Self.ms(e.at), Int64(e.uid), e.user, e.action, e.target, e.old, e.new])
    }

    /// Records a change (committed before this returns).
    public func audit(_ e: AuditEntry) async throws {
        try await pool.write { db in
            try Self.insertAudit(db, e)
        }
    }

    /// The newest audit entries first.
    public func auditEntries(limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT at, uid, user, action, target, old, new FROM audit ORDER BY id DESC LIMIT ?",
                arguments: [limit]
            ).map {
                AuditEntry(
                    at: Date(timeIntervalSince1970: Double($0["at"] as Int64) / 1000), uid: UInt32($0["uid"] as Int64),
                    user: $0["user"], action: $0["action"], target: $0["target"], old: $0["old"], new: $0["new"])
            }
        }
    }

    /// Devices in maintenance: id → (reason, since).
    public func maintenance() async throws -> [String: (reason: String, since: Date)] {
        try await pool.read { db in
            var result: [String: (reason: String, since: Date)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT device, reason, since FROM maintenance") {
                result[row["device"]] = (
                    row["reason"], Date(timeIntervalSince1970: Double(row["since"] as Int64) / 1000)
                )
            }
            return result
        }
    }

    /// Puts a device into maintenance or out of it, and audits it, in one transaction.
    public func setMaintenance(device: String, reason: String?, audit e: AuditEntry) async throws {
        try await pool.write { db in
            if let reason {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO maintenance (device, reason, since, uid, user) VALUES (?, ?, ?, ?, ?)",
                    arguments: [device, reason, Self.ms(e.at), Int64(e.uid), e.user])
            } else {
                try db.execute(sql: "DELETE FROM maintenance WHERE device = ?", arguments: [device])
            }
            try Self.insertAudit(db, e)
        }
    }

    /// Whether the database answers a trivial query (the watchdog's test).
    public func ping() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// Checkpoints the WAL into the main file (on shutdown).
    public func checkpoint() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }
}
