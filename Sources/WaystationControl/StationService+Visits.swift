#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationVisits

extension StationService {
    /// The visit in a reply to a kiosk or reader carries no pseudonym (an empty `worker`).
    func checkIn(_ p: CheckIn.Parameters, peer: Peer) async throws -> CheckIn.Reply {
        let categories = await visits.categories
        guard categories.contains(p.category) else {
            throw StationError.unknownCategory(category: p.category, known: categories)
        }
        let source = try Limits.text(p.source, "source", max: 32)
        if let why = try await checkInPause() { throw StationError.checkInPaused(reason: why) }
        do {
            let r = try await visits.checkIn(worker: p.worker, category: p.category, source: source)
            return CheckIn.Reply(
                visit: Wire.visit(r.visit, showWorker: peer.role == .admin), alreadyInside: !r.created,
                occupancy: r.occupancy, capacity: r.capacity,
                full: r.full)
        } catch let e as VisitError {
            throw VarlinkError.invalidParameter("worker", reason: e.description)
        }
    }

    func checkOut(_ p: CheckOut.Parameters, peer: Peer) async throws -> CheckOut.Reply {
        let result: (visit: VisitRecord, occupancy: Int)?
        do {
            result = try await visits.checkOut(worker: p.worker)
        } catch let e as VisitError {
            throw VarlinkError.invalidParameter("worker", reason: e.description)
        }
        guard let (visit, occupancy) = result else { throw StationError.notCheckedIn }
        return CheckOut.Reply(visit: Wire.visit(visit, showWorker: peer.role == .admin), occupancy: occupancy)
    }

    func listVisits(_ p: ListVisits.Parameters) async throws -> ListVisits.Reply {
        let since = try date(p.since, "since")
        let until = try date(p.until, "until")
        let limit = try Limits.count(p.limit, "limit", default: 500, max: 5000)
        let after = try Limits.cursor(p.cursor)
        let list = try await visits.store.visits(
            since: since, until: until, activeOnly: p.active ?? false, after: after, limit: limit + 1)
        let page = Array(list.prefix(limit))
        return ListVisits.Reply(
            visits: page.map { Wire.visit($0) }, next: list.count > limit ? page.last?.id.map(String.init) : nil)
    }

    func visitStats(_ p: GetVisitStats.Parameters) async throws -> GetVisitStats.Reply {
        guard let from = try date(p.from, "from"), let to = try date(p.to, "to"), from < to else {
            throw VarlinkError.invalidParameter("to", reason: "after from")
        }
        let s = try await visits.statistics(from: from, to: to)
        return GetVisitStats.Reply(
            stats: VisitStats(
                from: Wire.iso(s.from), to: Wire.iso(s.to), visits: s.visits,
                byCategory: s.byCategory.keys.sorted().map {
                    CategoryCount(category: $0, count: s.byCategory[$0] ?? 0)
                },
                byHour: s.byHour, uniqueRiders: s.uniqueRiders, meanStay: s.meanStay, medianStay: s.medianStay,
                peakOccupancy: s.peakOccupancy, peakAt: s.peakAt.map(Wire.iso)))
    }

    func date(_ text: String?, _ key: String) throws(VarlinkError) -> Date? {
        guard let text else { return nil }
        guard let date = Self.parseDate(text) else {
            throw .invalidParameter(key, reason: "an ISO 8601 date or date-time")
        }
        return date
    }

    /// ISO 8601 with or without a time zone (without: station time), or a plain date.
    static func parseDate(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return LocalTime.station.parse(text)
    }
}
