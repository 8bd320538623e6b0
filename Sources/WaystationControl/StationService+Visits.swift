import Foundation
import WaystationCore
import WaystationVisits

extension StationService {
    /// The visit carries the rider's pseudonym for admins only.
    func checkIn(_ p: CheckIn.Parameters, showWorker: Bool = true) async throws -> CheckIn.Reply {
        let categories = await visits.categories
        guard categories.contains(p.category) else {
            throw StationError.unknownCategory(category: p.category, known: categories)
        }
        do {
            let r = try await visits.checkIn(worker: p.worker, category: p.category, source: p.source)
            return CheckIn.Reply(
                visit: Wire.visit(r.visit, showWorker: showWorker), alreadyInside: !r.created, occupancy: r.occupancy,
                capacity: r.capacity,
                full: r.full)
        } catch let e as VisitError {
            throw VarlinkError.invalidParameter("worker", reason: e.description)
        }
    }

    func checkOut(_ p: CheckOut.Parameters, showWorker: Bool = true) async throws -> CheckOut.Reply {
        guard let (visit, occupancy) = try await visits.checkOut(worker: p.worker) else {
            throw StationError.notCheckedIn(worker: showWorker ? visits.pseudonym(p.worker) : "")
        }
        return CheckOut.Reply(visit: Wire.visit(visit, showWorker: showWorker), occupancy: occupancy)
    }

    func listVisits(_ p: ListVisits.Parameters) async throws -> ListVisits.Reply {
        let since = try date(p.since, "since")
        let until = try date(p.until, "until")
        let list = try await visits.store.visits(since: since, until: until, activeOnly: p.active ?? false)
        return ListVisits.Reply(visits: list.map { Wire.visit($0) })
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
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let d = formatter.date(from: text) { return d }
        }
        return nil
    }
}
