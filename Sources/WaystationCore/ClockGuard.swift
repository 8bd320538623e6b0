#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Whether the wall clock can be trusted for deleting old data. A board without a real-time clock
/// boots in 1970 (or years ahead) until NTP sets it; pruning by such a clock would delete all
/// history and visits. The guard says no while the clock is implausible, and for an hour after it
/// jumped (the wall clock moved differently from the monotonic one).
public struct ClockGuard: Sendable {
    /// Nothing this software recorded can predate this (2025-01-01).
    public static let earliest = Date(timeIntervalSince1970: 1_735_689_600)
    /// Nor be later than this (2100-01-01).
    public static let latest = Date(timeIntervalSince1970: 4_102_444_800)

    private var last: (wall: Date, mono: ContinuousClock.Instant)?
    private var jumpedAt: ContinuousClock.Instant?

    public init() {}

    /// Why the clock cannot be trusted now, or nil.
    public mutating func distrust(now: Date = Date(), mono: ContinuousClock.Instant = .now) -> String? {
        defer { last = (now, mono) }
        if now < Self.earliest || now > Self.latest {
            return "the clock reads \(now.formatted(.iso8601)), which cannot be right"
        }
        if let last {
            let wall = now.timeIntervalSince(last.wall)
            let elapsed = (mono - last.mono).seconds
            if abs(wall - elapsed) > 120 { jumpedAt = mono }
        }
        if let jumpedAt, (mono - jumpedAt) < .seconds(3600) {
            return "the clock jumped within the last hour"
        }
        return nil
    }
}
