import Foundation
import PostgresNIO

extension HubStore {
    /// A station as the desk's fleet table and station page show it: the hub's record and the
    /// count of its reports still waiting for a verdict.
    public struct FleetStation: Sendable, Equatable {
        public var id: String
        public var name: String
        public var address: String
        public var revoked: Bool
        /// RFC 3339 UTC, or nil.
        public var lastSeen: String?
        public var software: String?
        public var configHash: String?
        public var enrolled: String
        public var pendingReports: Int
    }

    /// Every enrolled station that is not revoked (`id` given: that one only, revoked or not), with its
    /// pending report count, ordered by id.
    public func fleetStations(id: String? = nil) async throws -> [FleetStation] {
        let rows = try await client.query(
            """
            SELECT s.id, s.name, s.address, s.revoked IS NOT NULL, rfc3339(s.last_seen), s.software, s.config_hash,
              rfc3339(s.created),
              (SELECT count(*) FROM reports r WHERE r.station = s.id AND r.status = 'pending')::integer
            FROM stations s
            WHERE (\(id)::text IS NULL AND s.revoked IS NULL) OR s.id = \(id)::text
            ORDER BY s.id
            """, logger: logger)
        var out: [FleetStation] = []
        for try await (id, name, address, revoked, seen, software, hash, created, pending) in rows.decode(
            (String, String, String, Bool, String?, String?, String?, String, Int).self)
        {
            out.append(
                FleetStation(
                    id: id, name: name, address: address, revoked: revoked, lastSeen: seen, software: software,
                    configHash: hash, enrolled: created, pendingReports: pending))
        }
        return out
    }

    /// Pending (not yet judged) reports per station; stations without any are absent.
    public func pendingReportCounts() async throws -> [String: Int] {
        let rows = try await client.query(
            "SELECT station, count(*)::integer FROM reports WHERE status = 'pending' GROUP BY station", logger: logger)
        var out: [String: Int] = [:]
        for try await (station, n) in rows.decode((String, Int).self) { out[station] = n }
        return out
    }
}
