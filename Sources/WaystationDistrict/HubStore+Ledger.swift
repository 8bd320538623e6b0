import PostgresNIO
import WaystationLink

extension HubStore {
    /// A report as `reports list` shows it (no rider: staff judge the hazard, not the person).
    public struct ReportRow: Sendable, Equatable {
        public var id: Int
        public var station: String
        public var stationReport: Int
        public var category: String
        public var categoryKnown: Bool
        public var location: String
        public var note: String?
        public var status: String
        public var created: String
        public var points: Int
    }

    public func reports(status: String?, limit: Int = 500) async throws -> [ReportRow] {
        let rows = try await client.query(
            """
            SELECT id, station, station_report, category, category_known, location, note, status, rfc3339(created), points
            FROM reports WHERE \(status)::text IS NULL OR status = \(status)::text ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var out: [ReportRow] = []
        for try await (id, station, sr, category, known, location, note, status, created, points) in rows.decode(
            (Int, String, Int, String, Bool, String, String?, String, String, Int).self)
        {
            out.append(
                ReportRow(
                    id: id, station: station, stationReport: sr, category: category, categoryKnown: known,
                    location: location, note: note, status: status, created: created, points: points))
        }
        return out
    }

    /// Verifies a pending report: its category's points go to the rider's ledger once (the ledger's
    /// unique report column), whatever station it came from. The points credited.
    @discardableResult
    public func verify(report id: Int, note: String?, by: String) async throws -> Int {
        try await judge(report: id, verified: true, note: note, by: by)
    }

    public func reject(report id: Int, note: String?, by: String) async throws {
        _ = try await judge(report: id, verified: false, note: note, by: by)
    }

    private func judge(report id: Int, verified: Bool, note: String?, by: String) async throws -> Int {
        let outcome: Result<Int, HubError> = try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT r.status, r.rider, r.category, coalesce(c.points, 0) FROM reports r
                LEFT JOIN categories c ON c.id = r.category AND c.active WHERE r.id = \(id) FOR UPDATE OF r
                """, logger: self.logger)
            var found: (String, String?, String, Int)?
            for try await row in rows.decode((String, String?, String, Int).self) { found = row }
            guard let (status, rider, category, categoryPoints) = found else {
                return .failure(HubError.notFound("no report \(id)"))
            }
            guard status == "pending" else { return .failure(HubError.conflict("report \(id) is already \(status)")) }
            let points = verified ? categoryPoints : 0
            let newStatus = verified ? "verified" : "rejected"
            try await connection.query(
                """
                UPDATE reports SET status = \(newStatus), verdict_note = \(note), points = \(points), judged = now(),
                  judged_by = \(by), tx = pg_current_xact_id() WHERE id = \(id)
                """, logger: self.logger)
            if verified, let rider, points > 0 {
                let why = "report \(id): \(category)"
                try await connection.query(
                    "INSERT INTO riders (pseudonym) VALUES (\(rider)) ON CONFLICT DO NOTHING", logger: self.logger)
                try await connection.query(
                    """
                    INSERT INTO ledger (rider, points, why, report, by_whom) VALUES (\(rider), \(points), \(why), \(id), \(by))
                    ON CONFLICT (report) DO NOTHING
                    """, logger: self.logger)
            }
            return .success(points)
        }
        return try outcome.get()
    }

    /// Spends `points` of a rider's balance: never below zero (checked under a row lock on the rider,
    /// so two stations cannot spend the same points), once per (station, key). The balance after.
    /// `station` nil: redeemed at the hub (any rider); else only riders that station looked up.
    public func redeem(station: String?, _ r: RedeemRequest) async throws -> Int {
        guard Validate.isPseudonym(r.rider) else { throw HubError.badRequest("rider: not a district pseudonym") }
        guard (1...100_000).contains(r.points) else { throw HubError.badRequest("points: must be 1...100000") }
        try Validate.text(r.gift, "gift", max: 200)
        try Validate.text(r.key, "key", max: 128)
        try Validate.text(r.by, "by", max: 100)
        let redemption = "\(station ?? "hub"):\(r.key)"
        let outcome: Result<Int, HubError> = try await client.withTransaction(logger: logger) { connection in
            var known = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM riders WHERE pseudonym = \(r.rider) FOR UPDATE", logger: self.logger)
            { known = true }
            if known, let station {
                known = false
                for try await _ in try await connection.query(
                    "SELECT 1 FROM station_riders WHERE station = \(station) AND rider = \(r.rider)",
                    logger: self.logger)
                { known = true }
            }
            guard known else { return .failure(HubError.notFound("unknown rider")) }
            var balance = 0
            for try await sum in try await connection.query(
                "SELECT coalesce(sum(points), 0)::bigint FROM ledger WHERE rider = \(r.rider)", logger: self.logger
            ).decode(Int.self) { balance = sum }
            for try await _ in try await connection.query(
                "SELECT 1 FROM ledger WHERE redemption = \(redemption)", logger: self.logger)
            {
                return .success(balance)  // the same key again: already spent, once
            }
            guard balance >= r.points else { return .failure(HubError.insufficient(balance: balance)) }
            let why = "gift: \(r.gift)"
            try await connection.query(
                """
                INSERT INTO ledger (rider, points, why, redemption, station, by_whom)
                VALUES (\(r.rider), \(-r.points), \(why), \(redemption), \(station), \(r.by))
                """, logger: self.logger)
            return .success(balance - r.points)
        }
        return try outcome.get()
    }

    /// A rider's balance and latest five entries.
    public func balance(rider: String) async throws -> Balance {
        var total = 0
        for try await sum in try await client.query(
            "SELECT coalesce(sum(points), 0)::bigint FROM ledger WHERE rider = \(rider)", logger: logger
        ).decode(Int.self) { total = sum }
        var recent: [LedgerLine] = []
        for try await (at, points, why) in try await client.query(
            "SELECT rfc3339(at), points, why FROM ledger WHERE rider = \(rider) ORDER BY id DESC LIMIT 5",
            logger: logger
        ).decode((String, Int, String).self) {
            recent.append(LedgerLine(at: at, points: points, why: why))
        }
        return Balance(rider: rider, balance: total, recent: recent)
    }
}
