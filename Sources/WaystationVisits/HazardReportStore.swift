#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// A street hazard a rider reported at the kiosk. `reporter` is the rider's pseudonym, never the id.
public struct HazardReportRecord: Codable, Sendable, Equatable {
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
    /// The report this one repeats (same rider, category and place within
    /// `HazardReportStore.duplicateWindow`): it earns nothing, even when verified.
    public var duplicateOf: Int64?

    enum CodingKeys: String, CodingKey {
        case id, reporter, category, location, note, created, status, points
        case judgedBy = "judged_by"
        case judgedAt = "judged_at"
        case judgeNote = "judge_note"
        case duplicateOf = "duplicate_of"
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
}

extension HazardReportRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "hazard_report"

    public init(row: Row) throws {
        id = try row["id"]
        reporter = try row["reporter"]
        category = try row["category"]
        location = try row["location"]
        note = try row["note"]
        created = try row["created"]
        let status: String = try row["status"]
        guard let known = Status(rawValue: status) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH, message: "unknown hazard report status \"\(status)\"", sql: row.sql)
        }
        self.status = known
        points = try row["points"]
        judgedBy = try row["judged_by"]
        judgedAt = try row["judged_at"]
        judgeNote = try row["judge_note"]
        duplicateOf = try row["duplicate_of"]
    }

    public func databaseColumns() -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
        [
            "id": id, "reporter": reporter, "category": category, "location": location, "note": note,
            "created": created, "status": status.rawValue, "points": points, "judged_by": judgedBy,
            "judged_at": judgedAt, "judge_note": judgeNote, "duplicate_of": duplicateOf,
        ]
    }

    static func fetchOne(_ db: Database, id: Int64) throws -> HazardReportRecord? {
        try fetchOne(db, sql: "SELECT * FROM hazard_report WHERE id = ?", arguments: [id])
    }
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
        },
        StorageMigration(order: 10, "v10: duplicate hazard reports") { db in
            try db.execute(sql: "ALTER TABLE hazard_report ADD COLUMN duplicate_of INTEGER")
        },
    ]

    /// A report repeats an earlier one of the same rider, category and place (letter case and
    /// spacing aside) filed within this many seconds: it is stored as a duplicate of it.
    public static let duplicateWindow: TimeInterval = 24 * 3600

    /// A place as duplicates compare it: lower case, runs of spaces as one.
    static func placeKey(_ s: String) -> String {
        s.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// A message for the outbox: target name and body.
    public typealias Message = (target: String, payload: String)

    /// Stores a new report and queues `messages(report)` in the same durable transaction. A report
    /// that repeats one the rider filed within `duplicateWindow` (and that was not itself a
    /// duplicate, nor rejected) is stored as its duplicate, worth no points.
    public func submit(_ report: HazardReportRecord, messages: @escaping @Sendable (HazardReportRecord) -> [Message])
        async throws -> HazardReportRecord
    {
        try await database.durableWrite { db in
            var r = report
            let earlier = try HazardReportRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM hazard_report WHERE reporter = ? AND category = ? AND created >= ?
                    AND duplicate_of IS NULL AND status != 'rejected' ORDER BY id
                    """,
                arguments: [r.reporter, r.category, r.created - Int64(Self.duplicateWindow * 1000)])
            let place = Self.placeKey(r.location)
            if let original = earlier.first(where: { Self.placeKey($0.location) == place }) {
                r.duplicateOf = original.id
                r.points = 0
            }
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
            guard var r = try HazardReportRecord.fetchOne(db, id: id) else { return .notFound }
            guard r.status == .pending else { return .alreadyJudged(r) }
            r.status = status
            if status == .verified { r.points = r.duplicateOf == nil ? points : 0 }
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
        try await database.read { db in try HazardReportRecord.fetchOne(db, id: id) }
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
            let reports = try HazardReportRecord.fetchAll(
                db, sql: "SELECT * FROM hazard_report WHERE reporter = ? ORDER BY id DESC LIMIT ?",
                arguments: [reporter, limit])
            let pending =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM hazard_report WHERE reporter = ? AND status = 'pending'",
                    arguments: [reporter]) ?? 0
            return (points, reports, pending)
        }
    }

    /// Reports, newest first, optionally in one status and created in [since, until).
    public func list(status: HazardReportRecord.Status?, since: Date?, until: Date?, limit: Int?) async throws
        -> [HazardReportRecord]
    {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let status {
                conditions.append("status = ?")
                arguments.append(status.rawValue)
            }
            if let since {
                conditions.append("created >= ?")
                arguments.append(StationDatabase.ms(since))
            }
            if let until {
                conditions.append("created < ?")
                arguments.append(StationDatabase.ms(until))
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            // LIMIT -1: no limit.
            return try HazardReportRecord.fetchAll(
                db, sql: "SELECT * FROM hazard_report\(filter) ORDER BY id DESC LIMIT ?",
                arguments: StatementArguments(arguments + [limit ?? -1]))
        }
    }
}
