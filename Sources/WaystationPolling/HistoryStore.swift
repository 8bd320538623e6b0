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
/// `PointRecorder`), and packed: per series and flush, one row of samples and one of 1-minute
/// aggregates, in tables per day (`HistoryBlocks`, `HistoryCodec`).
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
        },
        StorageMigration(order: 8, "v8: history in packed blocks") { db in
            // The day tables are made as blocks are written (see HistoryBlocks); v1's rows move there.
            try convertRows(db)
            try db.execute(sql: "DROP TABLE point_value; DROP TABLE point_aggregate")
        },
    ]

    /// The v1 rows, an hour of samples and a day of minutes per block.
    static func convertRows(_ db: Database) throws {
        var tables: Set<String> = []
        try convert(db, table: "point_value", time: "at", columns: "at, value", span: 3_600_000) { row in
            HistoryCodec.Sample(at: try row["at"], value: try row["value"])
        } insert: { series, samples in
            try HistoryBlocks.insert(db, series: series, samples: samples, tables: &tables)
        }
        try convert(db, table: "point_aggregate", time: "minute", columns: "minute, min, max, avg, count", span: 86_400)
        {
            row in
            HistoryCodec.Minute(
                minute: try row["minute"], min: try row["min"], max: try row["max"], avg: try row["avg"],
                count: try row["count"])
        } insert: { series, minutes in
            try HistoryBlocks.insert(db, series: series, minutes: minutes, tables: &tables)
        }
    }

    /// Moves one v1 table's rows, `span` of time at a time (its key starts with the time), a block
    /// per series and span.
    static func convert<T>(
        _ db: Database, table: String, time: String, columns: String, span: Int64, entry: (Row) throws -> T,
        insert: (Int64, [T]) throws -> Void
    ) throws {
        guard let first = try Int64.fetchOne(db, sql: "SELECT min(\(time)) FROM \(table)"),
            let last = try Int64.fetchOne(db, sql: "SELECT max(\(time)) FROM \(table)")
        else { return }
        var from = first - first % span
        while from <= last {
            var bySeries: [Int64: [T]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT series, \(columns) FROM \(table) WHERE \(time) >= ? AND \(time) < ? ORDER BY \(time)",
                arguments: [from, from + span])
            {
                bySeries[try row["series"], default: []].append(try entry(row))
            }
            for (series, entries) in bySeries.sorted(by: { $0.key < $1.key }) { try insert(series, entries) }
            from += span
        }
    }

    static func ms(_ date: Date) -> Int64 { StationDatabase.ms(date) }

    /// Rows skipped because the database refused them (a row, never the batch).
    public private(set) var skippedRows = 0

    /// Writes one flush's rows in one transaction. A row the database refuses (a constraint, a value
    /// it cannot store) is skipped and counted — it never takes the batch, and the state transitions
    /// in it, down. A full disk or an I/O error fails the whole write; the caller keeps the rows.
    public func write(_ record: CycleRecord) async throws {
        guard !record.isEmpty else { return }
        let known = seriesIDs
        // Runs on the database's own serial queue, not on Swift's shared pool.
        let (learned, skipped) = try await database.write { db -> ([PointRecorder.SeriesKey: Int64], Int) in
            var learned: [PointRecorder.SeriesKey: Int64] = [:]
            var skipped = 0
            /// `rows`: how many stored values the statement carries (a block: all its samples).
            func row(_ rows: Int = 1, _ body: () throws -> Void) throws {
                do {
                    try body()
                } catch let e as DatabaseError
                    where [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(e.resultCode)
                {
                    skipped += rows
                }
            }
            func id(_ key: PointRecorder.SeriesKey) throws -> Int64 {
                if let found = known[key] ?? learned[key] { return found }
                let found = try Self.seriesIDSync(db, key)
                learned[key] = found
                return found
            }
            // One block per series (and day), blocks inserted in time order, so that each lands at
            // the end of its table.
            var tables: Set<String> = []
            var samples: [Int64: [HistoryCodec.Sample]] = [:]
            for v in record.values {
                try row {
                    samples[try id(v.series), default: []].append(
                        .init(at: Self.ms(v.at), value: v.value.flatMap { $0.isFinite ? $0 : nil }))
                }
            }
            for (series, list) in samples.sorted(by: { ($0.value[0].at, $0.key) < ($1.value[0].at, $1.key) }) {
                try row(list.count) { try HistoryBlocks.insert(db, series: series, samples: list, tables: &tables) }
            }
            var minutes: [Int64: [HistoryCodec.Minute]] = [:]
            for a in record.aggregates where a.stats.min.isFinite && a.stats.max.isFinite && a.stats.avg.isFinite {
                try row { minutes[try id(a.series), default: []].append(a.stats) }
            }
            for (series, list) in minutes.sorted(by: {
                ($0.value[0].minute, $0.key) < ($1.value[0].minute, $1.key)
            }) {
                try row(list.count) { try HistoryBlocks.insert(db, series: series, minutes: list, tables: &tables) }
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
                guard let table = RegisterTable(rawValue: try row["tbl"]) else { continue }
                try result[row["device"], default: [:]][table, default: []].insert(row["address"])
            }
            return result
        }
    }

    /// Drops the days of values and of aggregates that are past their retention (see
    /// `HistoryBlocks`), and device state transitions older than the aggregates' retention. Returns
    /// the blocks dropped (a block: one series' values or minutes of one flush). `now` is the time
    /// retention counts from (`RetentionClock`'s horizon); at most `maxDays` day tables of each kind
    /// go in one call, and at most `limit(count)` of the `count` transitions.
    @discardableResult
    public func prune(
        now: Date, retainValues: TimeInterval, retainAggregates: TimeInterval, maxDays: Int = .max,
        limit: @escaping @Sendable (Int) -> Int = { $0 }
    ) async throws -> (valueBlocks: Int, aggregateBlocks: Int) {
        try await database.write { db in
            let valueCutoff = Self.ms(now.addingTimeInterval(-retainValues))
            // Never everything: a cutoff past the newest value means the clock is wrong, not that
            // all history expired.
            if let newest = try HistoryBlocks.newestSample(db), newest < valueCutoff {
                throw ClockLooksWrong(newest: StationDatabase.date(ms: newest), now: now)
            }
            let values = try HistoryBlocks.drop(db, .values, before: valueCutoff, maxDays: maxDays)
            let aggregates = try HistoryBlocks.drop(
                db, .aggregates, before: Int64(now.addingTimeInterval(-retainAggregates).timeIntervalSince1970),
                maxDays: maxDays)
            let transitions = try Int.fetchOne(db, sql: "SELECT count(*) FROM device_state") ?? 0
            try db.execute(
                sql:
                    "DELETE FROM device_state WHERE id IN (SELECT id FROM device_state WHERE at < ? ORDER BY at LIMIT ?)",
                arguments: [Self.ms(now.addingTimeInterval(-retainAggregates)), limit(transitions)])
            return (values, aggregates)
        }
    }

    /// A series' id, or nil when it has no rows.
    /// When the newest stored value was taken; nil without history.
    public func newestSample() async throws -> Date? {
        try await database.read { db in try HistoryBlocks.newestSample(db).map(StationDatabase.date(ms:)) }
    }

    nonisolated static func seriesID(_ db: Database, device: String, point: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM series WHERE device = ? AND point = ?", arguments: [device, point])
    }

    /// Stored values of one point (tests, reports).
    public nonisolated func valueCount(device: String, point: String) throws -> Int {
        try values(device: device, point: point).count
    }

    /// Stored values of one point, oldest first.
    public nonisolated func values(device: String, point: String) throws -> [(at: Date, value: Double?)] {
        try database.readNow { db in
            guard let series = try Self.seriesID(db, device: device, point: point) else { return [] }
            return try HistoryBlocks.blocks(db, .values, series: series)
                .flatMap { try HistoryCodec.decodeSamples($0.data, base: $0.base) }
                .sorted { $0.at < $1.at }
                .map { (StationDatabase.date(ms: $0.at), $0.value) }
        }
    }

    /// Stored 1-minute aggregates of one point, oldest first.
    public nonisolated func aggregates(device: String, point: String) throws -> [HistoryCodec.Minute] {
        try database.readNow { db in
            guard let series = try Self.seriesID(db, device: device, point: point) else { return [] }
            return try HistoryBlocks.blocks(db, .aggregates, series: series)
                .flatMap { try HistoryCodec.decodeMinutes($0.data, base: $0.base) }
                .sorted { $0.minute < $1.minute }
        }
    }

    /// Recorded state transitions of a device, oldest first.
    public nonisolated func transitions(device: String) throws -> [(at: Date, from: String, to: String, cause: String)]
    {
        try database.readNow { db in
            try Row.fetchAll(
                db, sql: "SELECT at, from_state, state, cause FROM device_state WHERE device = ? ORDER BY id",
                arguments: [device]
            ).map { (StationDatabase.date(ms: try $0["at"]), try $0["from_state"], try $0["state"], try $0["cause"]) }
        }
    }

    /// Aggregates stored for one point.
    public nonisolated func aggregateCount(device: String, point: String) throws -> Int {
        try aggregates(device: device, point: point).count
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    public nonisolated func integrityCheck() throws -> String { try database.integrityCheck() }
}
