#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationStorage

/// Where packed history lives (issue 15: flash). Each flush writes one row per series for its
/// samples and one for its 1-minute aggregates, encoded by `HistoryCodec`, into a table per UTC day
/// (`value_block_<day>`, `aggregate_block_<day>`; day = Unix days of the block's base time).
///
/// - A row's id is its base time shifted left 20 bits, or'ed with the series id: a day's table is in
///   time order and each flush appends to the end of its tree (full pages, no index to keep).
/// - Retention drops whole days. Deleting rows writes every page they were on — as much again as
///   writing them did, and its checkpoint as much once more — while dropping a table writes a few
///   pages of the free list (with `secure_delete` fast for that statement; history is not personal
///   data, and visits keep their deleted rows overwritten). Values are so kept for their retention
///   rounded up to the next UTC midnight.
enum HistoryBlocks {
    enum Kind {
        case values, aggregates
        var prefix: String { self == .values ? "value_block_" : "aggregate_block_" }
        /// Units of a base per day: samples are in Unix ms, minutes in Unix seconds.
        var perDay: Int64 { self == .values ? 86_400_000 : 86_400 }
    }

    /// Bits of an id below its base time: the series id.
    static let seriesBits: Int64 = 20
    static let seriesMask: Int64 = (1 << seriesBits) - 1

    static func table(_ kind: Kind, day: Int64) -> String { kind.prefix + String(day) }

    /// A kind's day tables, oldest first.
    static func tables(_ db: Database, _ kind: Kind) throws -> [(day: Int64, name: String)] {
        try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?",
            arguments: [kind.prefix + "[0-9]*"]
        )
        .compactMap { name in Int64(name.dropFirst(kind.prefix.count)).map { (day: $0, name: name) } }
        .sorted { $0.day < $1.day }
    }

    /// Writes one series' samples (in the order seen), a block per day they fall in.
    static func insert(
        _ db: Database, series: Int64, samples: [HistoryCodec.Sample], tables: inout Set<String>
    ) throws {
        try insert(db, .values, series: series, samples, time: \.at, tables: &tables, encode: HistoryCodec.encode)
    }

    /// Writes one series' minutes, a block per day they fall in.
    static func insert(
        _ db: Database, series: Int64, minutes: [HistoryCodec.Minute], tables: inout Set<String>
    ) throws {
        try insert(
            db, .aggregates, series: series, minutes, time: \.minute, tables: &tables, encode: HistoryCodec.encode)
    }

    static func insert<T>(
        _ db: Database, _ kind: Kind, series: Int64, _ entries: [T], time: KeyPath<T, Int64>,
        tables: inout Set<String>, encode: ([T], Int64) -> Data
    ) throws {
        for (day, list) in try byDay(entries, time, kind) {
            try insert(db, kind, day: day, series: series, base: list[0][keyPath: time], tables: &tables) { base in
                encode(list, base)
            }
        }
    }

    /// Entries grouped by the day of their time, days in order of first appearance. A time before
    /// 1970 or past 2^42 ms (year 2109) does not fit an id: refused as out of range.
    static func byDay<T>(_ entries: [T], _ time: KeyPath<T, Int64>, _ kind: Kind) throws -> [(Int64, [T])] {
        var days: [Int64: [T]] = [:]
        var order: [Int64] = []
        for e in entries {
            let t = e[keyPath: time]
            guard t >= 0, t < 1 << (62 - seriesBits) else {
                throw DatabaseError(resultCode: .SQLITE_RANGE, message: "time \(t) does not fit a block id")
            }
            let day = t / kind.perDay
            if days[day] == nil { order.append(day) }
            days[day, default: []].append(e)
        }
        return order.compactMap { day in days[day].map { (day, $0) } }
    }

    /// An id already taken (the same series and base: a clock set back, a flush written twice) moves
    /// the base on by one unit; the blob's first step is from the base, so nothing is lost.
    static func insert(
        _ db: Database, _ kind: Kind, day: Int64, series: Int64, base: Int64, tables: inout Set<String>,
        encode: (Int64) -> Data
    ) throws {
        guard series > 0, series <= seriesMask else {
            throw DatabaseError(resultCode: .SQLITE_RANGE, message: "series id \(series) does not fit a block id")
        }
        let name = table(kind, day: day)
        if !tables.contains(name) {
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(name) (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            tables.insert(name)
        }
        var base = base
        while try Int64.fetchOne(
            db, sql: "SELECT id FROM \(name) WHERE id = ?", arguments: [base << seriesBits | series])
            != nil
        {
            base += 1
        }
        try db.execute(
            sql: "INSERT INTO \(name) (id, data) VALUES (?, ?)", arguments: [base << seriesBits | series, encode(base)])
    }

    /// Drops the day tables of a kind that end at or before `cutoff`; returns the blocks they held.
    static func drop(_ db: Database, _ kind: Kind, before cutoff: Int64, maxDays: Int = .max) throws -> Int {
        var blocks = 0
        for t in try tables(db, kind).prefix(maxDays) where (t.day + 1) * kind.perDay <= cutoff {
            blocks += try Int.fetchOne(db, sql: "SELECT count(*) FROM \(t.name)") ?? 0
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            defer { try? db.execute(sql: "PRAGMA secure_delete = ON") }
            try db.execute(sql: "DROP TABLE \(t.name)")
        }
        return blocks
    }

    /// The newest sample time: the newest day's block with the highest id is the last flush's.
    static func newestSample(_ db: Database) throws -> Int64? {
        guard let newest = try tables(db, .values).last,
            let row = try Row.fetchOne(db, sql: "SELECT id, data FROM \(newest.name) ORDER BY id DESC LIMIT 1")
        else { return nil }
        let id: Int64 = try row["id"]
        return try? HistoryCodec.decodeSamples(try row["data"], base: id >> seriesBits).map(\.at).max()
    }

    /// Every block of one series, oldest day first, in id order within a day. History is written,
    /// not queried, on a station: reading a series scans the tables (tests, a technician's look).
    static func blocks(_ db: Database, _ kind: Kind, series: Int64, days: ClosedRange<Int64>? = nil) throws
        -> [(base: Int64, data: Data)]
    {
        var result: [(base: Int64, data: Data)] = []
        for t in try tables(db, kind) where days?.contains(t.day) ?? true {
            for row in try Row.fetchAll(
                db, sql: "SELECT id, data FROM \(t.name) WHERE id & ? = ? ORDER BY id", arguments: [seriesMask, series])
            {
                let id: Int64 = try row["id"]
                result.append((id >> seriesBits, try row["data"]))
            }
        }
        return result
    }
}
