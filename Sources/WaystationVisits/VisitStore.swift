#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// One stay at the station. `worker` is the pseudonym, never the rider's id.
public struct VisitRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "visit"

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

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
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

    static let open = Column("checked_out") == nil

    static func occupancy(_ db: Database) throws -> Int {
        try VisitRecord.filter(open).fetchCount(db)
    }

    /// Opens a visit unless the rider already has one open; returns the visit and whether it is new.
    public func checkIn(worker: String, category: String, source: String?, at now: Date) async throws
        -> (visit: VisitRecord, created: Bool, occupancy: Int)
    {
        try await database.durableWrite { db in
            if let open = try VisitRecord.filter(Column("worker") == worker && Self.open)
                .order(Column("id").desc).fetchOne(db)
            {
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
            guard
                var visit = try VisitRecord.filter(Column("worker") == worker && Self.open)
                    .order(Column("id").desc).fetchOne(db)
            else { return nil }
            visit.checkedOut = StationDatabase.ms(now)
            visit.closedBy = "rider"
            try visit.update(db)
            return (visit, try Self.occupancy(db))
        }
    }

    /// Closes visits open longer than `maxStay` (at check-in + maxStay) and deletes visits that
    /// started before `retainSince`. Returns the visits closed and the number deleted.
    public func maintain(now: Date, maxStay: TimeInterval, retainSince: Date) async throws
        -> (closed: [VisitRecord], deleted: Int)
    {
        try await database.durableWrite { db in
            let limit = StationDatabase.ms(now.addingTimeInterval(-maxStay))
            let stay = Int64(maxStay * 1000)
            var closed = try VisitRecord.filter(Self.open && Column("checked_in") <= limit).fetchAll(db)
            for i in closed.indices {
                closed[i].checkedOut = closed[i].checkedIn + stay
                closed[i].closedBy = "auto"
                try closed[i].update(db)
            }
            // Never every visit: a cutoff past the newest one means the clock is wrong.
            let newest = try Int64.fetchOne(db, sql: "SELECT max(checked_in) FROM visit") ?? 0
            let cutoff = StationDatabase.ms(retainSince)
            let deleted = newest >= cutoff ? try VisitRecord.filter(Column("checked_in") < cutoff).deleteAll(db) : 0
            return (closed, deleted)
        }
    }

    /// Visits that started in [since, until), optionally only open ones, in id order (oldest first),
    /// after the visit `after`, at most `limit`.
    public func visits(since: Date?, until: Date?, activeOnly: Bool, after: Int64? = nil, limit: Int = 100_000)
        async throws -> [VisitRecord]
    {
        try await database.read { db in
            var request = VisitRecord.all()
            if let since { request = request.filter(Column("checked_in") >= StationDatabase.ms(since)) }
            if let until { request = request.filter(Column("checked_in") < StationDatabase.ms(until)) }
            if activeOnly { request = request.filter(Self.open) }
            if let after { request = request.filter(Column("id") > after) }
            return try request.order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// Visits that overlap [from, to): for statistics (peak occupancy needs the ones already inside).
    public func visitsOverlapping(from: Date, to: Date) async throws -> [VisitRecord] {
        try await database.read { db in
            try VisitRecord.filter(
                Column("checked_in") < StationDatabase.ms(to)
                    && (Self.open || Column("checked_out") > StationDatabase.ms(from))
            ).order(Column("checked_in")).fetchAll(db)
        }
    }

    /// Riders inside now.
    public func occupancy() async throws -> Int {
        try await database.read { db in try Self.occupancy(db) }
    }
}
