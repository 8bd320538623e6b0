import Foundation
import PostgresNIO
import WaystationLink

extension HubStore {
    /// Stores reports idempotently on (station, station report id): a repeat is accepted, never stored
    /// twice. A rider pseudonym this station was never given is dropped (the report earns no points).
    public func storeReports(station: String, _ reports: [DistrictReport]) async throws -> ReportsResponse {
        for r in reports {
            try Validate.report(r)
        }
        let ids = reports.map(\.id)
        return try await client.withTransaction(logger: logger) { connection in
            for r in reports {
                try await connection.query(
                    """
                    INSERT INTO reports (station, station_report, key, category, category_known, location, note, rider, created)
                    VALUES (\(station), \(r.id), \(r.key), \(r.category),
                      EXISTS (SELECT 1 FROM categories WHERE id = \(r.category) AND active),
                      \(r.location), \(r.note),
                      (SELECT rider FROM station_riders WHERE station = \(station) AND rider = \(r.rider)),
                      \(r.created)::timestamptz)
                    ON CONFLICT (station, station_report) DO NOTHING
                    """, logger: self.logger)
            }
            let rows = try await connection.query(
                """
                SELECT station_report FROM reports
                WHERE station = \(station) AND station_report = ANY(\(ids)) AND NOT category_known
                ORDER BY station_report
                """, logger: self.logger)
            var flagged: [Int] = []
            for try await id in rows.decode(Int.self) { flagged.append(id) }
            return ReportsResponse(accepted: ids, flagged: flagged)
        }
    }

    /// Absolute visit counts per (station, local day, category): a repeat overwrites.
    public func storeVisits(station: String, _ days: [DayVisits]) async throws {
        for d in days { try Validate.visits(d) }
        try await client.withTransaction(logger: logger) { connection in
            for d in days {
                try await connection.query(
                    """
                    INSERT INTO visits (station, day, category, visits) VALUES (\(station), \(d.day)::date, \(d.category), \(d.visits))
                    ON CONFLICT (station, day, category) DO UPDATE SET visits = excluded.visits, updated = now()
                    """, logger: self.logger)
            }
        }
    }

    /// The visit counts the hub holds for a station, by day and category (for tests and the desk).
    public func visits(station: String) async throws -> [DayVisits] {
        let rows = try await client.query(
            "SELECT day::text, category, visits FROM visits WHERE station = \(station) ORDER BY day, category",
            logger: logger)
        var out: [DayVisits] = []
        for try await (day, category, visits) in rows.decode((String, String, Int).self) {
            out.append(DayVisits(day: day, category: category, visits: visits))
        }
        return out
    }

    /// The station's last-seen record.
    public func storeState(station: String, _ state: StationState) async throws {
        try Validate.text(state.software, "software", max: 64)
        try Validate.text(state.config, "config", max: 128)
        try Validate.time(state.reported, "reported")
        try await client.query(
            """
            UPDATE stations SET software = \(state.software), config_hash = \(state.config),
              reported = \(state.reported)::timestamptz, last_seen = now()
            WHERE id = \(station)
            """, logger: logger)
    }

    /// Everything changed for `station` since `cursor` ("" for everything).
    public func changes(station: String, since cursor: String) async throws -> DistrictChanges {
        let since = cursor.isEmpty ? "0" : cursor
        guard since.allSatisfy(\.isASCII), since.allSatisfy(\.isNumber), since.count <= 20 else {
            throw HubError.badRequest("since: not a cursor this hub gave out")
        }
        // The oldest transaction still running: everything older is committed and read below.
        var next = since
        for try await xmin in try await client.query(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text", logger: logger
        ).decode(String.self) { next = xmin }
        var out = DistrictChanges(cursor: next)
        let verdicts = try await client.query(
            """
            SELECT station_report, status, verdict_note, points, rfc3339(judged) FROM reports
            WHERE station = \(station) AND status <> 'pending' AND tx >= \(since)::xid8 ORDER BY id
            """, logger: logger)
        for try await (id, status, note, points, judged) in verdicts.decode((Int, String, String?, Int, String?).self) {
            out.verdicts.append(Verdict(id: id, verdict: status, note: note, points: points, judged: judged ?? ""))
        }
        let changed = try await client.query(
            "SELECT EXISTS (SELECT 1 FROM categories WHERE tx >= \(since)::xid8)", logger: logger)
        for try await any in changed.decode(Bool.self) where any || since == "0" {
            out.categories = try await categories(activeOnly: true)
        }
        let notices = try await client.query(
            """
            SELECT id, title, title_zh, body, body_zh, rfc3339(valid_from), rfc3339(valid_until), withdrawn
            FROM notices WHERE tx >= \(since)::xid8 AND (stations IS NULL OR \(station) = ANY(stations)) ORDER BY id
            """, logger: logger)
        for try await (id, title, titleZh, body, bodyZh, from, until, withdrawn) in notices.decode(
            (Int, String, String?, String?, String?, String, String, Bool).self)
        {
            out.notices.append(
                Notice(
                    id: id, title: title, titleZh: titleZh, body: body, bodyZh: bodyZh, from: from, until: until,
                    withdrawn: withdrawn))
        }
        let services = try await client.query(
            """
            SELECT id, name, name_zh, description, description_zh, days, hours, withdrawn FROM services
            WHERE tx >= \(since)::xid8 AND (stations IS NULL OR \(station) = ANY(stations)) ORDER BY id
            """, logger: logger)
        for try await (id, name, nameZh, description, descriptionZh, days, hours, withdrawn) in services.decode(
            (String, String, String?, String?, String?, [String]?, String?, Bool).self)
        {
            out.services.append(
                DistrictService(
                    id: id, name: name, nameZh: nameZh, description: description, descriptionZh: descriptionZh,
                    days: days, hours: hours, withdrawn: withdrawn))
        }
        let riders = try await client.query(
            """
            SELECT sr.rider FROM station_riders sr WHERE sr.station = \(station)
              AND (sr.tx >= \(since)::xid8 OR EXISTS (SELECT 1 FROM ledger l WHERE l.rider = sr.rider AND l.tx >= \(since)::xid8))
            ORDER BY sr.rider
            """, logger: logger)
        var pseudonyms: [String] = []
        for try await rider in riders.decode(String.self) { pseudonyms.append(rider) }
        for rider in pseudonyms {
            out.balances.append(try await balance(rider: rider))
        }
        return out
    }

    /// The district's categories (the active ones, or all).
    public func categories(activeOnly: Bool) async throws -> [DistrictCategory] {
        let rows = try await client.query(
            "SELECT id, name, name_zh, points FROM categories WHERE active OR NOT \(activeOnly) ORDER BY id",
            logger: logger)
        var out: [DistrictCategory] = []
        for try await (id, name, nameZh, points) in rows.decode((String, String, String, Int).self) {
            out.append(DistrictCategory(id: id, name: name, nameZh: nameZh, points: points))
        }
        return out
    }

    /// Remembers that `station` knows `pseudonym` (so its balances go to that station).
    func remember(station: String, riders: [String]) async throws {
        guard !riders.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            for rider in riders {
                try await connection.query(
                    "INSERT INTO riders (pseudonym) VALUES (\(rider)) ON CONFLICT DO NOTHING", logger: self.logger)
                try await connection.query(
                    "INSERT INTO station_riders (station, rider) VALUES (\(station), \(rider)) ON CONFLICT DO NOTHING",
                    logger: self.logger)
            }
        }
    }
}
