import PostgresNIO
import WaystationLink

extension HubStore {
    /// A report as the desk's queue shows it: its verdict, its dispatch to a department, and its age.
    public struct DeskReport: Sendable, Equatable {
        public var id: Int
        public var station: String
        public var category: String
        public var location: String
        public var note: String?
        /// pending, verified or rejected (the verdict the station hears).
        public var status: String
        /// nil, dispatched or fixed (after verified).
        public var dispatch: String?
        public var department: String?
        public var verdictNote: String?
        public var dispatchNote: String?
        public var created: String
        /// Seconds since the rider made the report.
        public var ageSeconds: Int

        /// What the desk shows: pending, verified, rejected, dispatched or fixed.
        public var state: String { dispatch ?? status }
    }

    /// Which reports the desk's queue lists.
    public struct ReportFilter: Sendable, Equatable {
        /// pending, verified (not yet dispatched), rejected, dispatched, fixed, or all.
        public var status: String
        public var station: String?
        public var category: String?
        public var newestFirst: Bool
        public var limit: Int

        public static let states = ["pending", "verified", "rejected", "dispatched", "fixed", "all"]

        public init(
            status: String = "pending", station: String? = nil, category: String? = nil, newestFirst: Bool = false,
            limit: Int = 500
        ) {
            self.status = status
            self.station = station
            self.category = category
            self.newestFirst = newestFirst
            self.limit = limit
        }
    }

    /// The desk's report queue from every station, filtered, oldest (or newest) first.
    public func deskReports(_ f: ReportFilter) async throws -> [DeskReport] {
        guard ReportFilter.states.contains(f.status) else {
            throw HubError.badRequest("status: must be one of \(ReportFilter.states.joined(separator: ", "))")
        }
        let status = f.status
        let order = f.newestFirst ? "DESC" : "ASC"
        let rows = try await client.query(
            """
            SELECT id, station, category, location, note, status, dispatch, department, verdict_note,
              dispatch_note, rfc3339(created), greatest(0, extract(epoch FROM now() - created))::bigint
            FROM reports
            WHERE CASE \(status)::text
                WHEN 'all' THEN true
                WHEN 'verified' THEN status = 'verified' AND dispatch IS NULL
                WHEN 'dispatched' THEN dispatch = 'dispatched'
                WHEN 'fixed' THEN dispatch = 'fixed'
                ELSE status = \(status)::text END
              AND (\(f.station)::text IS NULL OR station = \(f.station)::text)
              AND (\(f.category)::text IS NULL OR category = \(f.category)::text)
            ORDER BY created \(unescaped: order), id \(unescaped: order) LIMIT \(f.limit)
            """, logger: logger)
        var out: [DeskReport] = []
        for try await (
            id, station, category, location, note, status, dispatch, department, verdict, dnote, created, age
        )
            in rows.decode(
                (
                    Int, String, String, String, String?, String, String?, String?, String?, String?, String, Int
                ).self)
        {
            out.append(
                DeskReport(
                    id: id, station: station, category: category, location: location, note: note, status: status,
                    dispatch: dispatch, department: department, verdictNote: verdict, dispatchNote: dnote,
                    created: created, ageSeconds: age))
        }
        return out
    }

    /// Sends a verified report to a department to be fixed; a report not verified, or already
    /// dispatched, is a conflict.
    public func dispatch(report id: Int, department: String, note: String?, by: String) async throws {
        try Validate.text(department, "department", max: 32)
        if let note { try Validate.text(note, "note", max: 2000) }
        let rows = try await client.query(
            """
            UPDATE reports SET dispatch = 'dispatched', department = \(department), dispatch_note = \(note),
              dispatched = now(), dispatched_by = \(by)
            WHERE id = \(id) AND status = 'verified' AND dispatch IS NULL RETURNING id
            """, logger: logger)
        for try await _ in rows { return }
        throw try await refusal(report: id, wanted: "verified")
    }

    /// Marks a dispatched report fixed; one not dispatched (or already fixed) is a conflict.
    public func fixed(report id: Int, note: String?, by: String) async throws {
        if let note { try Validate.text(note, "note", max: 2000) }
        let rows = try await client.query(
            """
            UPDATE reports SET dispatch = 'fixed', fixed = now(), fixed_by = \(by),
              dispatch_note = coalesce(\(note), dispatch_note)
            WHERE id = \(id) AND dispatch = 'dispatched' RETURNING id
            """, logger: logger)
        for try await _ in rows { return }
        throw try await refusal(report: id, wanted: "dispatched")
    }

    /// Why a report could not move on: it does not exist, or is in another state than `wanted`.
    private func refusal(report id: Int, wanted: String) async throws -> HubError {
        let rows = try await client.query(
            "SELECT coalesce(dispatch, status) FROM reports WHERE id = \(id)", logger: logger)
        for try await state in rows.decode(String.self) {
            return .conflict("report \(id) is \(state), not \(wanted)")
        }
        return .notFound("no report \(id)")
    }

    /// One entry of a rider's ledger as the desk shows it.
    public struct LedgerEntry: Sendable, Equatable {
        public var at: String
        public var points: Int
        public var why: String
        /// The station it was earned or spent at; nil for the hub (verdicts, the desk's gifts).
        public var station: String?
        public var by: String?
    }

    /// A rider's ledger, newest first.
    public func ledger(rider: String, limit: Int = 200) async throws -> [LedgerEntry] {
        var out: [LedgerEntry] = []
        let rows = try await client.query(
            """
            SELECT rfc3339(l.at), l.points, l.why, coalesce(l.station, r.station), l.by_whom
            FROM ledger l LEFT JOIN reports r ON r.id = l.report
            WHERE l.rider = \(rider) ORDER BY l.id DESC LIMIT \(limit)
            """, logger: logger)
        for try await (at, points, why, station, by) in rows.decode((String, Int, String, String?, String?).self) {
            out.append(LedgerEntry(at: at, points: points, why: why, station: station, by: by))
        }
        return out
    }

    /// A notice as the desk lists it: the notice the kiosks get, its stations and its state
    /// (`n.title` etc. read the notice's own fields).
    @dynamicMemberLookup
    public struct DeskNotice: Sendable, Equatable {
        public var notice: Notice
        /// nil: every station.
        public var stations: [String]?
        /// current, upcoming, expired or withdrawn.
        public var state: String
        public subscript<T>(dynamicMember key: KeyPath<Notice, T>) -> T { notice[keyPath: key] }
    }

    /// Every notice: current ones first, then upcoming, expired and withdrawn; latest start first.
    public func listNotices(limit: Int = 500) async throws -> [DeskNotice] {
        let rows = try await client.query(
            """
            SELECT id, title, title_zh, body, body_zh, rfc3339(valid_from), rfc3339(valid_until), stations,
              CASE WHEN withdrawn THEN 'withdrawn' WHEN valid_until <= now() THEN 'expired'
                WHEN valid_from > now() THEN 'upcoming' ELSE 'current' END AS state
            FROM notices
            ORDER BY CASE WHEN withdrawn THEN 3 WHEN valid_until <= now() THEN 2 WHEN valid_from > now() THEN 1
              ELSE 0 END, valid_from DESC, id DESC
            LIMIT \(limit)
            """, logger: logger)
        var out: [DeskNotice] = []
        for try await (id, title, titleZh, body, bodyZh, from, until, stations, state) in rows.decode(
            (Int, String, String?, String?, String?, String, String, [String]?, String).self)
        {
            out.append(
                DeskNotice(
                    notice: Notice(
                        id: id, title: title, titleZh: titleZh, body: body, bodyZh: bodyZh, from: from, until: until,
                        withdrawn: state == "withdrawn"),
                    stations: stations, state: state))
        }
        return out
    }

    /// Withdraws a notice: a new `tx`, so the stations it went to hear of it at their next sync.
    public func withdrawNotice(_ id: Int) async throws {
        let rows = try await client.query(
            "UPDATE notices SET withdrawn = true, tx = pg_current_xact_id() WHERE id = \(id) AND NOT withdrawn RETURNING id",
            logger: logger)
        for try await _ in rows { return }
        for try await _ in try await client.query("SELECT 1 FROM notices WHERE id = \(id)", logger: logger) {
            throw HubError.conflict("notice \(id) is already withdrawn")
        }
        throw HubError.notFound("no notice \(id)")
    }

    /// Every partner service (withdrawn ones last) with the stations it is offered at (nil: all).
    public func listServices() async throws -> [(service: DistrictService, stations: [String]?)] {
        let rows = try await client.query(
            """
            SELECT id, name, name_zh, description, description_zh, days, hours, stations, withdrawn
            FROM services ORDER BY withdrawn, id
            """, logger: logger)
        var out: [(service: DistrictService, stations: [String]?)] = []
        for try await (id, name, nameZh, description, descriptionZh, days, hours, stations, withdrawn) in rows.decode(
            (String, String, String?, String?, String?, [String]?, String?, [String]?, Bool).self)
        {
            out.append(
                (
                    DistrictService(
                        id: id, name: name, nameZh: nameZh, description: description, descriptionZh: descriptionZh,
                        days: days, hours: hours, withdrawn: withdrawn), stations
                ))
        }
        return out
    }

    /// Withdraws a service: a new `tx`, so the stations it is offered at take it off their kiosks.
    public func withdrawService(_ id: String) async throws {
        let rows = try await client.query(
            "UPDATE services SET withdrawn = true, tx = pg_current_xact_id() WHERE id = \(id) AND NOT withdrawn RETURNING id",
            logger: logger)
        for try await _ in rows { return }
        for try await _ in try await client.query("SELECT 1 FROM services WHERE id = \(id)", logger: logger) {
            throw HubError.conflict("service \(id) is already withdrawn")
        }
        throw HubError.notFound("no service \(id)")
    }
}
