import PostgresNIO

extension HubStore {
    /// Appends to the audit log: who (`cli` for the command line), from where, what, on what.
    public func audit(staff: String, address: String?, action: String, target: String?, detail: String?) async throws {
        try await client.query(
            """
            INSERT INTO audit (staff, address, action, target, detail)
            VALUES (\(staff), \(address), \(action), \(target), \(detail.map { String($0.prefix(500)) }))
            """, logger: logger)
    }
}

/// One line of the audit log.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int
    /// When, as `YYYY-MM-DD HH:MM:SS` in the district's time zone.
    public var at: String
    public var staff: String
    public var address: String?
    public var action: String
    public var target: String?
    public var detail: String?
}

extension HubStore {
    /// The audit log, newest first: at most `limit` entries older than entry `before` (nil: the newest).
    public func auditLog(before: Int? = nil, limit: Int = 200, timeZone: String) async throws -> [AuditEntry] {
        let rows = try await client.query(
            """
            SELECT id::int8, to_char(at AT TIME ZONE \(timeZone), 'YYYY-MM-DD HH24:MI:SS'), staff, address, action,
              target, detail
            FROM audit WHERE \(before == nil) OR id < \(before ?? 0) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var out: [AuditEntry] = []
        for try await (id, at, staff, address, action, target, detail) in rows.decode(
            (Int, String, String, String?, String, String?, String?).self)
        {
            out.append(
                AuditEntry(
                    id: id, at: at, staff: staff, address: address, action: action, target: target, detail: detail))
        }
        return out
    }
}
