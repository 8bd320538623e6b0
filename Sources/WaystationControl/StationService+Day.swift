#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationVisits

extension StationService {
    /// Visits of the station's local calendar day so far (metrics: "riders today").
    func today(now: Date = Date()) async -> DayFigures? {
        let local = LocalTime.station
        let c = local.components(of: now)
        guard let start = local.date(year: c.year, month: c.month, day: c.day) else { return nil }
        let end = now.addingTimeInterval(1)
        guard let visits = try? await self.visits.store.visitsOverlapping(from: start, to: end) else { return nil }
        let begun = visits.filter { $0.checkedInDate >= start && $0.checkedInDate < end }
        let ended = visits.filter { v in v.checkedOutDate.map { $0 >= start && $0 < end } ?? false }
        let stays = ended.compactMap { v in v.checkedOutDate.map { $0.timeIntervalSince(v.checkedInDate) } }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return DayFigures(
            date: "\(c.year)-\(two(c.month))-\(two(c.day))", start: start.timeIntervalSince1970,
            checkIns: begun.count, checkOuts: ended.count, uniqueRiders: Set(visits.map(\.worker)).count,
            meanStay: stays.isEmpty ? nil : stays.reduce(0, +) / Double(stays.count))
    }
}
