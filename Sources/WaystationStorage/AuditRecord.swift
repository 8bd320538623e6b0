#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One recorded change: who, when, what, old → new. Every domain's changes land here.
public struct AuditRecord: Codable, Sendable, Equatable {
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

extension AuditRecord: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit"

    public init(row: Row) throws {
        id = try row["id"]
        at = try row["at"]
        uid = try row["uid"]
        user = try row["user"]
        action = try row["action"]
        target = try row["target"]
        old = try row["old"]
        new = try row["new"]
    }

    public func databaseColumns() -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
        ["id": id, "at": at, "uid": uid, "user": user, "action": action, "target": target, "old": old, "new": new]
    }
}

extension StationDatabase {
    /// Records a change (committed before this returns).
    public func audit(_ entry: AuditRecord) async throws {
        try await write { db in try entry.insert(db) }
    }

    /// The newest audit entries first, older than the entry `before`.
    public func auditEntries(limit: Int, before: Int64? = nil) async throws -> [AuditRecord] {
        try await read { db in
            if let before {
                return try AuditRecord.fetchAll(
                    db, sql: "SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?", arguments: [before, limit])
            }
            return try AuditRecord.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }
}
