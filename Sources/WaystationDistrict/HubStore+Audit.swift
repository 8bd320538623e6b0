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
