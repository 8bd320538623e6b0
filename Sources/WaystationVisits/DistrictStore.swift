#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationProtocol
import WaystationStorage

/// The station's side of the district link, in its own tables (`v12`): riders the hub knows
/// (station pseudonym → district pseudonym), sealed ids waiting for a look-up (the sealed blob only,
/// never the raw id), which reports the hub accepted, the district's categories, notices, services
/// and balances as last received, and the sync's cursor and time. Everything the hub sends is keyed,
/// absolute state, so applying it twice changes nothing.
public struct DistrictStore: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    public static let migrations = [
        StorageMigration(order: 12, "v12: district link") { db in
            try db.execute(
                sql: """
                    CREATE TABLE district_rider (
                        station TEXT PRIMARY KEY,      -- the station's pseudonym of the rider
                        district TEXT NOT NULL,        -- the hub's pseudonym of the rider
                        since INTEGER NOT NULL);       -- Unix milliseconds
                    CREATE INDEX district_rider_district ON district_rider(district);
                    CREATE TABLE district_lookup (
                        station TEXT PRIMARY KEY,      -- the station's pseudonym of the rider
                        enc TEXT NOT NULL,             -- HPKE encapsulated key, base64
                        ct TEXT NOT NULL,              -- HPKE ciphertext of the id, base64 (never the id)
                        queued INTEGER NOT NULL);
                    CREATE TABLE district_report (
                        report INTEGER PRIMARY KEY,    -- hazard_report.id
                        sent INTEGER,                  -- first offered to the uplink
                        accepted INTEGER,              -- the hub took it
                        verdict TEXT,                  -- the district's verdict, once applied
                        judged INTEGER);
                    CREATE TABLE district_category (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        name_zh TEXT,
                        points INTEGER NOT NULL,
                        position INTEGER NOT NULL);
                    CREATE TABLE district_notice (
                        id INTEGER PRIMARY KEY,
                        title TEXT NOT NULL,
                        title_zh TEXT,
                        body TEXT NOT NULL,
                        body_zh TEXT,
                        valid_from INTEGER NOT NULL,
                        valid_until INTEGER NOT NULL,
                        withdrawn INTEGER NOT NULL);
                    CREATE TABLE district_service (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        name_zh TEXT,
                        days TEXT,                     -- comma-separated mon … sun; NULL: every day
                        hours TEXT,
                        withdrawn INTEGER NOT NULL);
                    CREATE TABLE district_balance (
                        rider TEXT PRIMARY KEY,        -- district pseudonym
                        balance INTEGER NOT NULL,
                        recent TEXT NOT NULL,          -- JSON [{at, points, why}], newest first
                        updated INTEGER NOT NULL);
                    CREATE TABLE district_sync (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        cursor TEXT,
                        last_sync INTEGER,
                        visits_through TEXT);          -- the newest past day whose counts the hub stored
                    """)
        }
    ]

    /// The district pseudonym of a rider (station pseudonym), once the hub has answered its look-up.
    public func district(ofStation station: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT district FROM district_rider WHERE station = ?", arguments: [station])
        }
    }

    /// Whether a rider (station pseudonym) needs a look-up: no district pseudonym, none queued.
    public func needsLookup(_ station: String) async throws -> Bool {
        try await database.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM district_rider WHERE station = ?1)
                    + (SELECT count(*) FROM district_lookup WHERE station = ?1)
                    """, arguments: [station]) == 0
        }
    }

    /// Queues a sealed id for a rider unless one is queued or the rider is mapped already.
    public func queueLookup(_ station: String, enc: String, ct: String, at: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO district_lookup (station, enc, ct, queued)
                    SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM district_rider WHERE station = ?1)
                    ON CONFLICT(station) DO NOTHING
                    """, arguments: [station, enc, ct, StationDatabase.ms(at)])
        }
    }

    /// A report waiting to go up, with its rider's district pseudonym.
    public struct Pending: Sendable {
        public var report: HazardReportRecord
        public var rider: String
    }

    /// Sealed ids (oldest first) and reports not yet accepted whose rider is mapped (oldest first),
    /// each at most `limit`; the reports are marked sent (first time only).
    public func outgoing(limit: Int, at now: Date) async throws -> (lookups: [DistrictSealed], reports: [Pending]) {
        try await database.write { db in
            let lookups = try Row.fetchAll(
                db, sql: "SELECT station, enc, ct FROM district_lookup ORDER BY queued, station LIMIT ?",
                arguments: [limit]
            ).map { row in DistrictSealed(ref: try row["station"], enc: try row["enc"], ct: try row["ct"]) }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.*, m.district AS district_rider FROM hazard_report r
                    JOIN district_rider m ON m.station = r.reporter
                    LEFT JOIN district_report s ON s.report = r.id
                    WHERE s.accepted IS NULL ORDER BY r.id LIMIT ?
                    """, arguments: [limit])
            var reports: [Pending] = []
            for row in rows {
                let r = try HazardReportRecord(row: row)
                reports.append(Pending(report: r, rider: try row["district_rider"]))
                try db.execute(
                    sql: "INSERT INTO district_report (report, sent) VALUES (?, ?) ON CONFLICT(report) DO NOTHING",
                    arguments: [r.id, StationDatabase.ms(now)])
            }
            return (lookups, reports)
        }
    }

    /// Check-in times and categories since `from` (for the days' counts).
    public func checkIns(since from: Date) async throws -> [(at: Int64, category: String)] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT checked_in, category FROM visit WHERE checked_in >= ? ORDER BY checked_in",
                arguments: [StationDatabase.ms(from)]
            ).map { row in (try row["checked_in"], try row["category"]) }
        }
    }

    /// Marks reports accepted, stores riders' district pseudonyms (dropping their sealed ids), drops
    /// refused look-ups, and moves the visits' accepted day forward (never back). Durable.
    public func accepted(
        reports: [Int], riders: [DistrictRiderMapping], refused: [String], visitsThrough: String?, at now: Date
    )
        async throws -> (reports: Int, riders: Int)
    {
        try await database.durableWrite { db in
            let t = StationDatabase.ms(now)
            var nReports = 0
            var nRiders = 0
            for id in reports {
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM hazard_report WHERE id = ?", arguments: [id]) == 1
                else { continue }
                try db.execute(
                    sql: """
                        INSERT INTO district_report (report, sent, accepted) VALUES (?1, ?2, ?2)
                        ON CONFLICT(report) DO UPDATE SET accepted = excluded.accepted WHERE accepted IS NULL
                        """, arguments: [id, t])
                nReports += db.changesCount
            }
            for m in riders {
                try db.execute(
                    sql:
                        "INSERT INTO district_rider (station, district, since) VALUES (?, ?, ?) ON CONFLICT(station) DO NOTHING",
                    arguments: [m.ref, m.district, t])
                nRiders += db.changesCount
                try db.execute(sql: "DELETE FROM district_lookup WHERE station = ?", arguments: [m.ref])
            }
            for ref in refused {
                try db.execute(sql: "DELETE FROM district_lookup WHERE station = ?", arguments: [ref])
            }
            if let day = visitsThrough {
                try Self.ensureSyncRow(db)
                try db.execute(
                    sql: """
                        UPDATE district_sync SET visits_through = ?1
                        WHERE id = 1 AND (visits_through IS NULL OR visits_through < ?1)
                        """, arguments: [day])
            }
            return (nReports, nRiders)
        }
    }

    static func ensureSyncRow(_ db: Database) throws {
        try db.execute(sql: "INSERT INTO district_sync (id) VALUES (1) ON CONFLICT(id) DO NOTHING")
    }

    /// The sync's bookkeeping: cursor, last sync, the newest day of visits accepted.
    public func sync() async throws -> (cursor: String?, lastSync: Date?, visitsThrough: String?) {
        try await database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT cursor, last_sync, visits_through FROM district_sync")
            else { return (nil, nil, nil) }
            let last: Int64? = try row["last_sync"]
            return (try row["cursor"], last.map(StationDatabase.date(ms:)), try row["visits_through"])
        }
    }

    /// Counts for `DistrictStatus`.
    public func counts() async throws -> (
        lookups: Int, reports: Int, reportsWithoutRider: Int, riders: Int, categories: Int, notices: Int
    ) {
        try await database.read { db in
            func n(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? 0 }
            let waiting = """
                FROM hazard_report r LEFT JOIN district_report s ON s.report = r.id WHERE s.accepted IS NULL
                """
            return (
                try n("SELECT count(*) FROM district_lookup"),
                try n("SELECT count(*) \(waiting)"),
                try n("SELECT count(*) \(waiting) AND r.reporter NOT IN (SELECT station FROM district_rider)"),
                try n("SELECT count(*) FROM district_rider"),
                try n("SELECT count(*) FROM district_category"),
                try n("SELECT count(*) FROM district_notice WHERE withdrawn = 0")
            )
        }
    }
}
