#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage

/// Which devices are in maintenance, kept across restarts; every change is audited with it.
public struct MaintenanceStore: Sendable {
    public let database: StationDatabase

    public init(database: StationDatabase) {
        self.database = database
    }

    /// Devices in maintenance: id → (reason, since).
    public func load() async throws -> [String: (reason: String, since: Date)] {
        try await database.read { db in
            var result: [String: (reason: String, since: Date)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT device, reason, since FROM maintenance") {
                result[row["device"]] = (row["reason"], StationDatabase.date(ms: row["since"]))
            }
            return result
        }
    }

    /// Puts a device into maintenance or out of it, and audits it, in one transaction.
    public func set(device: String, reason: String?, audit e: AuditRecord) async throws {
        try await database.write { db in
            if let reason {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO maintenance (device, reason, since, uid, user) VALUES (?, ?, ?, ?, ?)",
                    arguments: [device, reason, e.at, e.uid, e.user])
            } else {
                try db.execute(sql: "DELETE FROM maintenance WHERE device = ?", arguments: [device])
            }
            try e.insert(db)
        }
    }
}
