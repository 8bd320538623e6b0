#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// Pruning refused: it would delete everything, which means the clock is wrong, not that all the
/// data expired.
public struct ClockLooksWrong: Error, CustomStringConvertible {
    public var newest: Date
    public var now: Date
    public var description: String {
        "the clock looks wrong: pruning at \(now.formatted(.iso8601)) would delete everything (the newest row is from \(newest.formatted(.iso8601)))"
    }
}

/// Value history, device state transitions and learned read splits: the polling domain's tables.
///
/// Everything one flush holds is written in one transaction. Values are stored sparsely (see
/// `PointRecorder`) with integer timestamps and series ids, to keep bytes written low.
public actor HistoryStore {
    public nonisolated let database: StationDatabase
    private var seriesIDs: [PointRecorder.SeriesKey: Int64] = [:]

    public init(database: StationDatabase) {
        self.database = database
    }

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

    public static let migrations = [
        StorageMigration(order: 1, "v1: history") { db in
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
    ]

    static func ms(_ date: Date) -> Int64 { StationDatabase.ms(date) }

    /// Rows skipped because the database refused them (a row, never the batch).
    public private(set) var skippedRows = 0

    /// Writes one flush's rows in one transaction. A row the database refuses (a constraint, a value
    /// it cannot store) is skipped and counted — it never takes the batch, and the state transitions
    /// in it, down. A full disk or an I/O error fails the whole write; the caller keeps the rows.
    public func write(_ record: CycleRecord) async throws {
        guard !record.isEmpty else { return }
        let known = seriesIDs
        // Runs on GRDB's writer queue, not on Swift's shared pool.
        let (learned, skipped) = try await database.write { db -> ([PointRecorder.SeriesKey: Int64], Int) in
            var learned: [PointRecorder.SeriesKey: Int64] = [:]
            var skipped = 0
            func row(_ body: () throws -> Void) throws {
                do {
                    try body()
                } catch let e as DatabaseError
                    where [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(e.resultCode)
                {
                    skipped += 1
                }
            }
            func id(_ key: PointRecorder.SeriesKey) throws -> Int64 {
                if let found = known[key] ?? learned[key] { return found }
                let found = try Self.seriesIDSync(db, key)
                learned[key] = found
                return found
            }
            for v in record.values {
                try row {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO point_value (series, at, value) VALUES (?, ?, ?)",
                        arguments: [try id(v.series), Self.ms(v.at), v.value.flatMap { $0.isFinite ? $0 : nil }])
                }
            }
            for a in record.aggregates where a.min.isFinite && a.max.isFinite && a.avg.isFinite {
                try row {
                    try db.execute(
                        sql: """
                            INSERT OR REPLACE INTO point_aggregate (series, minute, min, max, avg, count)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [try id(a.series), a.minute, a.min, a.max, a.avg, a.count])
                }
            }
            for (device, t) in record.transitions {
                try row {
                    try db.execute(
                        sql: "INSERT INTO device_state (device, at, from_state, state, cause) VALUES (?, ?, ?, ?, ?)",
                        arguments: [device, Self.ms(t.at), t.from.rawValue, t.to.rawValue, t.cause])
                }
            }
            for s in record.splits {
                try row {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO learned_split (device, tbl, address) VALUES (?, ?, ?)",
                        arguments: [s.device, s.table.rawValue, s.address])
                }
            }
            return (learned, skipped)
        }
        skippedRows += skipped
        seriesIDs.merge(learned) { a, _ in a }
    }

    /// Used inside a write closure, where the actor's cache cannot be touched.
    nonisolated static func seriesIDSync(_ db: Database, _ key: PointRecorder.SeriesKey) throws -> Int64 {
        try db.execute(
            sql: "INSERT OR IGNORE INTO series (device, point) VALUES (?, ?)", arguments: [key.device, key.point])
        guard
            let id = try Int64.fetchOne(
                db, sql: "SELECT id FROM series WHERE device = ? AND point = ?", arguments: [key.device, key.point])
        else { throw DatabaseError(message: "series \(key.device).\(key.point) vanished") }
        return id
    }

    /// Learned read splits, per device.
    public func loadSplits() async throws -> [String: RequestPlanner.Barriers] {
        try await database.read { db in
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
        // The primary keys start with the time: both deletes are range deletes. Never everything: a
        // cutoff past the newest row means the clock is wrong, not that all history expired.
        try await database.write { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT max(at) FROM point_value") ?? 0
            if newest > 0, newest < Self.ms(now.addingTimeInterval(-retainValues)) {
                throw ClockLooksWrong(newest: StationDatabase.date(ms: newest), now: now)
            }
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
    public nonisolated func valueCount(device: String, point: String) throws -> Int {
        try database.readNow { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM point_value v JOIN series s ON s.id = v.series
                    WHERE s.device = ? AND s.point = ?
                    """, arguments: [device, point]) ?? 0
        }
    }

    /// Stored values of one point, oldest first.
    public nonisolated func values(device: String, point: String) throws -> [(at: Date, value: Double?)] {
        try database.readNow { db in
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
    public nonisolated func transitions(device: String) throws -> [(at: Date, from: String, to: String, cause: String)]
    {
        try database.readNow { db in
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
    public nonisolated func aggregateCount(device: String, point: String) throws -> Int {
        try database.readNow { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM point_aggregate a JOIN series s ON s.id = a.series
                    WHERE s.device = ? AND s.point = ?
                    """, arguments: [device, point]) ?? 0
        }
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    public nonisolated func integrityCheck() throws -> String { try database.integrityCheck() }
}
