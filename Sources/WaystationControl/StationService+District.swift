#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationStorage
import WaystationVisits

/// The district link's methods (uplink role, or admin): what waits to go up, what the hub took,
/// what it sends down, and the link's state. The daemon makes no request itself.
extension StationService {
    /// Look-ups and reports per call, at most.
    static let districtBatch = 500
    /// Days of visit counts sent at most (a station away longer sends the newest).
    static let districtDays = 31

    /// The district desk of an enrolled station; `DistrictNotEnrolled` otherwise.
    func enrolledDistrict() async throws -> (DistrictDesk, StationConfig.District) {
        guard let desk = kiosk.district, let d = await desk.enrolled else { throw StationError.districtNotEnrolled }
        return (desk, d)
    }

    func districtOutgoing(_ p: DistrictOutgoing.Parameters) async throws -> DistrictOutgoing.Reply {
        let (desk, d) = try await enrolledDistrict()
        if let limit = p.limit, limit < 1 { throw VarlinkError.invalidParameter("limit", reason: "must be at least 1") }
        let limit = min(p.limit ?? Self.districtBatch, Self.districtBatch)
        let now = await desk.clock
        let (lookups, pending) = try await desk.store.outgoing(limit: limit, at: now)
        let reports = pending.map { item in
            let r = item.report
            return DistrictReport(
                id: Int(r.id ?? 0), key: "\(d.station)-report-\(r.id ?? 0)", category: r.category, location: r.location,
                note: r.note, rider: item.rider, created: Self.rfc3339(r.createdDate))
        }
        let sync = try await desk.store.sync()
        return DistrictOutgoing.Reply(
            station: d.station, lookups: lookups, reports: reports,
            visits: try await visitDays(desk.store, after: sync.visitsThrough, now: now), cursor: sync.cursor)
    }

    /// Check-ins per station-local day and category, for the days after `after` (today included).
    func visitDays(_ store: DistrictStore, after: String?, now: Date) async throws -> [DistrictDayVisits] {
        let rows = try await store.checkIns(since: now.addingTimeInterval(-Double(Self.districtDays) * 86400))
        var counts: [String: [String: Int]] = [:]
        for row in rows {
            let day = Self.localDay(StationDatabase.date(ms: row.at))
            if let after, day <= after { continue }
            counts[day, default: [:]][row.category, default: 0] += 1
        }
        return counts.keys.sorted().flatMap { day in
            (counts[day] ?? [:]).keys.sorted().map {
                DistrictDayVisits(day: day, category: $0, visits: counts[day]?[$0] ?? 0)
            }
        }
    }

    func districtAccepted(_ p: DistrictAccepted.Parameters) async throws -> DistrictAccepted.Reply {
        let (desk, _) = try await enrolledDistrict()
        for m in p.riders ?? [] where m.ref.isEmpty || m.district.isEmpty || m.district.count > 128 {
            throw VarlinkError.invalidParameter("riders", reason: "each needs a ref and a district pseudonym")
        }
        let today = Self.localDay(await desk.clock)
        for day in p.visitDays ?? [] where !Self.isDay(day) {
            throw VarlinkError.invalidParameter("visit_days", reason: "expected YYYY-MM-DD, got \"\(day)\"")
        }
        // Today's count still grows: only days before it are done.
        let through = (p.visitDays ?? []).filter { $0 < today }.max()
        let n = try await desk.store.accepted(
            reports: p.reports ?? [], riders: p.riders ?? [], refused: (p.refused ?? []).map(\.ref),
            visitsThrough: through, at: await desk.clock)
        return DistrictAccepted.Reply(reports: n.reports, riders: n.riders)
    }

    func districtApply(_ p: DistrictApply.Parameters) async throws -> DistrictApply.Reply {
        let (desk, _) = try await enrolledDistrict()
        guard !p.cursor.isEmpty, p.cursor.count <= 512 else {
            throw VarlinkError.invalidParameter("cursor", reason: "expected 1 to 512 characters")
        }
        if let problem = DistrictStore.problem(p.changes) {
            throw VarlinkError.invalidParameter(problem.field, reason: problem.reason)
        }
        let judged = try await desk.apply(p.changes, cursor: p.cursor)
        return DistrictApply.Reply(verdicts: judged, cursor: p.cursor)
    }

    /// The rider's district pseudonym (the raw id pseudonymised as at a check-in, never kept), and
    /// the hub's address and credential files for `waystation-uplink redeem`.
    func districtRider(_ p: DistrictRider.Parameters) async throws -> DistrictRider.Reply {
        let (desk, d) = try await enrolledDistrict()
        let pseudonym: String
        do { pseudonym = try visits.pseudonym(worker: p.worker) } catch {
            throw VarlinkError.invalidParameter("worker", reason: error.description)
        }
        return DistrictRider.Reply(
            district: try await desk.store.district(ofStation: pseudonym), station: d.station, url: d.url,
            tokenFile: d.tokenFile, caFile: d.caFile)
    }

    func districtStatus() async throws -> DistrictStatus.Reply {
        guard let desk = kiosk.district, let d = await desk.enrolled else {
            return DistrictStatus.Reply(
                enrolled: false, station: nil, url: nil, cursor: nil, lastSync: nil, lookups: 0, reports: 0,
                reportsWithoutRider: 0, riders: 0, categories: 0, notices: 0)
        }
        let sync = try await desk.store.sync()
        let n = try await desk.store.counts()
        return DistrictStatus.Reply(
            enrolled: true, station: d.station, url: d.url, cursor: sync.cursor, lastSync: sync.lastSync.map(Wire.iso),
            lookups: n.lookups, reports: n.reports, reportsWithoutRider: n.reportsWithoutRider, riders: n.riders,
            categories: n.categories, notices: n.notices)
    }

    /// The district's services on the kiosk, beside the config's.
    static func services(_ desk: DistrictDesk) async -> [KioskService] {
        guard let s = try? await desk.shown() else { return [] }
        let today = StationConfig.Service.dayNames[(LocalTime.station.components(of: Date()).weekday + 5) % 7]
        return s.services.map { svc in
            let days = svc.days ?? StationConfig.Service.dayNames
            return KioskService(
                name: svc.nameZh ?? svc.name, nameEn: svc.nameZh == nil ? nil : svc.name, days: days,
                hours: svc.hours ?? "", today: days.contains(today))
        }
    }

    /// `2026-12-07`, station time.
    static func localDay(_ date: Date) -> String {
        let c = LocalTime.station.components(of: date)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(c.year)-\(two(c.month))-\(two(c.day))"
    }

    static func isDay(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2
            && parts.allSatisfy { $0.allSatisfy(\.isASCII) && Int($0) != nil }
    }

    /// RFC 3339 in UTC.
    static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }
}
