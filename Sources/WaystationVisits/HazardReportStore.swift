#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// A street hazard a rider reported at the kiosk. `reporter` is the rider's pseudonym, never the id.
public struct HazardReportRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "hazard_report"

    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, verified, rejected
    }

    public var id: Int64?
    public var reporter: String
    public var category: String
    public var location: String
    public var note: String?
    /// Unix milliseconds.
    public var created: Int64
    public var status: Status
    /// What the report earns once verified: its category's points (set again from the table when
    /// it is verified); only verified reports count towards a balance.
    public var points: Int
    public var judgedBy: String?
    public var judgedAt: Int64?
    public var judgeNote: String?

    enum CodingKeys: String, CodingKey {
        case id, reporter, category, location, note, created, status, points
        case judgedBy = "judged_by"
        case judgedAt = "judged_at"
        case judgeNote = "judge_note"
    }

    public init(reporter: String, category: String, location: String, note: String?, created: Date, points: Int) {
        self.reporter = reporter
        self.category = category
        self.location = location
        self.note = note
        self.created = StationDatabase.ms(created)
        self.status = .pending
        self.points = points
    }

    public var createdDate: Date { StationDatabase.date(ms: created) }
    public var judgedDate: Date? { judgedAt.map(StationDatabase.date(ms:)) }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The hazard-report table. Every write a rider or an admin is told about is durable
/// (`synchronous = FULL`), and its outbox messages to the district are in the same transaction.
public struct HazardReportStore: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    public static let migrations = [
        StorageMigration(order: 6, "v6: hazard reports") { db in
            try db.execute(
                sql: """
                    CREATE TABLE hazard_report (
                        id INTEGER PRIMARY KEY,
                        reporter TEXT NOT NULL,       -- HMAC-SHA256 of the rider id, never the id
                        category TEXT NOT NULL,
                        location TEXT NOT NULL,
                        note TEXT,
                        created INTEGER NOT NULL,     -- Unix milliseconds
                        status TEXT NOT NULL,         -- pending, verified, rejected
                        points INTEGER NOT NULL,
                        judged_by TEXT,
                        judged_at INTEGER,
                        judge_note TEXT);
                    CREATE INDEX hazard_report_reporter ON hazard_report(reporter, id);
                    CREATE INDEX hazard_report_created ON hazard_report(created);
                    """)
        }
    ]

    /// A message for the outbox: target name and body.
    public typealias Message = (target: String, payload: String)

    /// Stores a new report and queues `messages(report)` in the same durable transaction.
    public func submit(_ report: HazardReportRecord, messages: @escaping @Sendable (HazardReportRecord) -> [Message])
        async throws -> HazardReportRecord
    {
        try await database.durableWrite { db in
            var r = report
            try r.insert(db)
            for m in messages(r) { try Outbox.insert(db, target: m.target, payload: m.payload, at: r.createdDate) }
            return r
        }
    }

    public enum JudgeOutcome: Sendable {
        case judged(HazardReportRecord)
        case notFound
        case alreadyJudged(HazardReportRecord)
    }

    /// Verifies or rejects a pending report, audits it and queues its messages, in one durable
    /// transaction.
    public func judge(
        id: Int64, status: HazardReportRecord.Status, points: Int, note: String?, by user: String, uid: UInt32,
        at now: Date, messages: @escaping @Sendable (HazardReportRecord) -> [Message]
    ) async throws -> JudgeOutcome {
        try await database.durableWrite { db in
            guard var r = try HazardReportRecord.fetchOne(db, key: id) else { return .notFound }
            guard r.status == .pending else { return .alreadyJudged(r) }
            r.status = status
            if status == .verified { r.points = points }
            r.judgedBy = user
            r.judgedAt = StationDatabase.ms(now)
            r.judgeNote = note
            try r.update(db)
            try AuditRecord(
                at: now, uid: uid, user: user, action: "report-\(status.rawValue)", target: "report \(id)",
                old: HazardReportRecord.Status.pending.rawValue,
                new: note.map { "\(status.rawValue): \($0)" } ?? status.rawValue
            ).insert(db)
            for m in messages(r) { try Outbox.insert(db, target: m.target, payload: m.payload, at: now) }
            return .judged(r)
        }
    }

    public func report(_ id: Int64) async throws -> HazardReportRecord? {
        try await database.read { db in try HazardReportRecord.fetchOne(db, key: id) }
    }

    /// A rider's balance (sum of verified points), newest reports, and pending count.
    public func rider(_ reporter: String, limit: Int = 10) async throws
        -> (points: Int, reports: [HazardReportRecord], pending: Int)
    {
        try await database.read { db in
            let points =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT coalesce(sum(points), 0) FROM hazard_report WHERE reporter = ? AND status = 'verified'",
                    arguments: [reporter]) ?? 0
            let reports = try HazardReportRecord.filter(Column("reporter") == reporter).order(Column("id").desc)
                .limit(limit).fetchAll(db)
            let pending = try HazardReportRecord.filter(Column("reporter") == reporter && Column("status") == "pending")
                .fetchCount(db)
            return (points, reports, pending)
        }
    }

    /// Reports, newest first, optionally in one status and created in [since, until).
    public func list(status: HazardReportRecord.Status?, since: Date?, until: Date?, limit: Int?) async throws
        -> [HazardReportRecord]
    {
        try await database.read { db in
            var request = HazardReportRecord.all()
            if let status { request = request.filter(Column("status") == status.rawValue) }
            if let since { request = request.filter(Column("created") >= StationDatabase.ms(since)) }
            if let until { request = request.filter(Column("created") < StationDatabase.ms(until)) }
            request = request.order(Column("id").desc)
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db)
        }
    }
}
