import Foundation

/// One recorded change: who, when, what, old → new. Every domain's changes land here.
public struct AuditRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit"

    public var id: Int64?
    /// Unix milliseconds.
    public var at: Int64
    public var uid: Int64
    public var user: String
    public var action: String
    public var target: String
    public var old: String?
    public var new: String?

    public init(at: Date, uid: UInt32, user: String, action: String, target: String, old: String?, new: String?) {
        self.at = StationDatabase.ms(at)
        self.uid = Int64(uid)
        self.user = user
        self.action = action
        self.target = target
        self.old = old
        self.new = new
    }

    public var date: Date { StationDatabase.date(ms: at) }
}

extension StationDatabase {
    /// Records a change (committed before this returns).
    public func audit(_ entry: AuditRecord) async throws {
        try await write { db in try entry.insert(db) }
    }

    /// The newest audit entries first, older than the entry `before`.
    public func auditEntries(limit: Int, before: Int64? = nil) async throws -> [AuditRecord] {
        try await read { db in
            var request = AuditRecord.order(Column("id").desc)
            if let before { request = request.filter(Column("id") < before) }
            return try request.limit(limit).fetchAll(db)
        }
    }
}
