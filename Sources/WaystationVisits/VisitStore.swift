#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// One stay at the station. `worker` is the pseudonym, never the rider's id.
public struct VisitRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    public var worker: String
    public var category: String
    public var source: String?
    /// Unix milliseconds.
    public var checkedIn: Int64
    public var checkedOut: Int64?
    /// `rider` or `auto` (closed after the maximum stay).
    public var closedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, worker, category, source
        case checkedIn = "checked_in"
        case checkedOut = "checked_out"
        case closedBy = "closed_by"
    }

    public init(
        id: Int64? = nil, worker: String, category: String, source: String?, checkedIn: Date, checkedOut: Date? = nil,
        closedBy: String? = nil
    ) {
        self.id = id
        self.worker = worker
        self.category = category
        self.source = source
        self.checkedIn = StationDatabase.ms(checkedIn)
        self.checkedOut = checkedOut.map(StationDatabase.ms)
        self.closedBy = closedBy
    }

    public var checkedInDate: Date { StationDatabase.date(ms: checkedIn) }
    public var checkedOutDate: Date? { checkedOut.map(StationDatabase.date(ms:)) }
}

extension VisitRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "visit"

    public init(row: Row) throws {
        id = try row["id"]
        worker = try row["worker"]
        category = try row["category"]
        source = try row["source"]
        checkedIn = try row["checked_in"]
        checkedOut = try row["checked_out"]
        closedBy = try row["closed_by"]
    }

    public func databaseColumns() -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
        [
            "id": id, "worker": worker, "category": category, "source": source, "checked_in": checkedIn,
            "checked_out": checkedOut, "closed_by": closedBy,
        ]
    }
}

/// The visits table. Every write that a caller acknowledges to a rider is a durable write
/// (`synchronous = FULL`), so it survives a crash or power cut right after.
public struct VisitStore: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    public static let migrations = [
        StorageMigration(order: 3, "v3: visits") { db in
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
    ]

    static func occupancy(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM visit WHERE checked_out IS NULL") ?? 0
    }

    /// The rider's open visit, the newest if (against the rules) there are several.
    static func openVisit(_ db: Database, worker: String) throws -> VisitRecord? {
        try VisitRecord.fetchOne(
            db, sql: "SELECT * FROM visit WHERE worker = ? AND checked_out IS NULL ORDER BY id DESC LIMIT 1",
            arguments: [worker])
    }

    /// Whether the rider (a pseudonym) has an open visit.
    public func isInside(worker: String) async throws -> Bool {
        try await database.read { db in try Self.openVisit(db, worker: worker) != nil }
    }

    /// Opens a visit unless the rider already has one open; returns the visit and whether it is new.
    public func checkIn(worker: String, category: String, source: String?, at now: Date) async throws
        -> (visit: VisitRecord, created: Bool, occupancy: Int)
    {
        try await database.durableWrite { db in
            if let open = try Self.openVisit(db, worker: worker) {
                return (open, false, try Self.occupancy(db))
            }
            var visit = VisitRecord(worker: worker, category: category, source: source, checkedIn: now)
            try visit.insert(db)
            return (visit, true, try Self.occupancy(db))
        }
    }

    /// Closes the rider's open visit; nil when there is none.
    public func checkOut(worker: String, at now: Date) async throws -> (visit: VisitRecord, occupancy: Int)? {
        try await database.durableWrite { db in
            guard var visit = try Self.openVisit(db, worker: worker) else { return nil }
            visit.checkedOut = StationDatabase.ms(now)
            visit.closedBy = "rider"
            try visit.update(db)
            return (visit, try Self.occupancy(db))
        }
    }

    /// What a scan did, decided and written in one transaction.
    public enum ScanWrite: Sendable {
        case checkedIn(VisitRecord, occupancy: Int)
        case checkedOut(VisitRecord, occupancy: Int)
    }

    /// A scan at the door: closes the rider's open visit, or opens one when there is none, in one
    /// durable transaction.
    public func scan(worker: String, category: String, source: String?, at now: Date) async throws -> ScanWrite {
        try await database.durableWrite { db in
            if var visit = try Self.openVisit(db, worker: worker) {
                visit.checkedOut = StationDatabase.ms(now)
                visit.closedBy = "rider"
                try visit.update(db)
                return .checkedOut(visit, occupancy: try Self.occupancy(db))
            }
            var visit = VisitRecord(worker: worker, category: category, source: source, checkedIn: now)
            try visit.insert(db)
            return .checkedIn(visit, occupancy: try Self.occupancy(db))
        }
    }

    /// Closes visits open longer than `maxStay` (at check-in + maxStay) and deletes visits that
    /// started before `retainSince`, oldest first and at most `limit(count)` of the `count` visits.
    /// Returns the visits closed and the number deleted.
    public func maintain(
        now: Date, maxStay: TimeInterval, retainSince: Date?, limit: @escaping @Sendable (Int) -> Int = { $0 }
    ) async throws -> (closed: [VisitRecord], deleted: Int) {
        try await database.durableWrite { db in
            let overstayed = StationDatabase.ms(now.addingTimeInterval(-maxStay))
            let stay = Int64(maxStay * 1000)
            var closed = try VisitRecord.fetchAll(
                db, sql: "SELECT * FROM visit WHERE checked_out IS NULL AND checked_in <= ? ORDER BY id",
                arguments: [overstayed])
            for i in closed.indices {
                closed[i].checkedOut = closed[i].checkedIn + stay
                closed[i].closedBy = "auto"
                try closed[i].update(db)
            }
            // Never every visit: a cutoff past the newest one means the clock is wrong.
            let newest = try Int64.fetchOne(db, sql: "SELECT max(checked_in) FROM visit") ?? 0
            var deleted = 0
            if let retainSince, newest >= StationDatabase.ms(retainSince) {
                let cutoff = StationDatabase.ms(retainSince)
                let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM visit") ?? 0
                try db.execute(
                    sql:
                        "DELETE FROM visit WHERE id IN (SELECT id FROM visit WHERE checked_in < ? ORDER BY checked_in LIMIT ?)",
                    arguments: [cutoff, limit(count)])
                deleted = db.changesCount
            }
            return (closed, deleted)
        }
    }

    /// Visits that started in [since, until), optionally only open ones, in id order (oldest first),
    /// after the visit `after`, at most `limit`.
    public func visits(since: Date?, until: Date?, activeOnly: Bool, after: Int64? = nil, limit: Int = 100_000)
        async throws -> [VisitRecord]
    {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let since {
                conditions.append("checked_in >= ?")
                arguments.append(StationDatabase.ms(since))
            }
            if let until {
                conditions.append("checked_in < ?")
                arguments.append(StationDatabase.ms(until))
            }
            if activeOnly { conditions.append("checked_out IS NULL") }
            if let after {
                conditions.append("id > ?")
                arguments.append(after)
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            return try VisitRecord.fetchAll(
                db, sql: "SELECT * FROM visit\(filter) ORDER BY id LIMIT ?",
                arguments: StatementArguments(arguments + [limit]))
        }
    }

    /// Visits that overlap [from, to): for statistics (peak occupancy needs the ones already inside).
    public func visitsOverlapping(from: Date, to: Date) async throws -> [VisitRecord] {
        try await database.read { db in
            try VisitRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM visit WHERE checked_in < ? AND (checked_out IS NULL OR checked_out > ?)
                    ORDER BY checked_in
                    """, arguments: [StationDatabase.ms(to), StationDatabase.ms(from)])
        }
    }

    /// When the newest visit started; nil without visits.
    public func newestCheckIn() async throws -> Date? {
        try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT max(checked_in) FROM visit").map(StationDatabase.date(ms:))
        }
    }

    /// Riders inside now.
    public func occupancy() async throws -> Int {
        try await database.read { db in try Self.occupancy(db) }
    }
}
