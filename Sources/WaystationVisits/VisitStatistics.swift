#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// Figures for the keeper and the district over a period. Pure: computed from visits and a time zone.
public struct VisitStatistics: Sendable, Equatable {
    public var from: Date
    public var to: Date
    /// Visits that started in the period.
    public var visits: Int
    public var byCategory: [String: Int]
    /// Visits that started in each hour of the day (0–23, station time).
    public var byHour: [Int]
    public var uniqueRiders: Int
    /// Over visits that started in the period and are closed; nil when there are none.
    public var meanStay: TimeInterval?
    public var medianStay: TimeInterval?
    /// Most riders inside at once during the period.
    public var peakOccupancy: Int
    public var peakAt: Date?

    /// - Parameter visits: every visit that overlaps [from, to).
    public static func compute(_ records: [VisitRecord], from: Date, to: Date, time: LocalTime, now: Date = Date())
        -> VisitStatistics
    {
        let visits = records.map {
            (worker: $0.worker, category: $0.category, checkedIn: $0.checkedInDate, checkedOut: $0.checkedOutDate)
        }
        let started = visits.filter { $0.checkedIn >= from && $0.checkedIn < to }
        var byCategory: [String: Int] = [:]
        var byHour = [Int](repeating: 0, count: 24)
        for v in started {
            byCategory[v.category, default: 0] += 1
            byHour[time.components(of: v.checkedIn).hour] += 1
        }
        let stays = started.compactMap { v in v.checkedOut.map { $0.timeIntervalSince(v.checkedIn) } }.sorted()
        let mean = stays.isEmpty ? nil : stays.reduce(0, +) / Double(stays.count)
        let median: TimeInterval? =
            stays.isEmpty
            ? nil
            : stays.count % 2 == 1 ? stays[stays.count / 2] : (stays[stays.count / 2 - 1] + stays[stays.count / 2]) / 2

        // Sweep: +1 at each arrival, −1 at each departure (departures first at equal times),
        // clipped to the period.
        var events: [(Date, Int)] = []
        for v in visits {
            let start = max(v.checkedIn, from)
            let end = min(v.checkedOut ?? now, to)
            guard start < end || (v.checkedOut == nil && start <= end) else { continue }
            events.append((start, 1))
            events.append((end, -1))
        }
        events.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var inside = 0
        var peak = 0
        var peakAt: Date?
        for (at, delta) in events {
            inside += delta
            if inside > peak {
                peak = inside
                peakAt = at
            }
        }
        return VisitStatistics(
            from: from, to: to, visits: started.count, byCategory: byCategory, byHour: byHour,
            uniqueRiders: Set(started.map(\.worker)).count, meanStay: mean, medianStay: median, peakOccupancy: peak,
            peakAt: peakAt)
    }
}
