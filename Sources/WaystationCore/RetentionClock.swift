#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import CShim
import Synchronization

/// The time retention may count from, so that a wrong clock never erases the station's past. Every
/// domain prunes through one of these (history, alerts, the outbox, visits):
///
/// - Nothing is pruned while the kernel says the clock is not synchronised (`adjtimex` status with
///   `STA_UNSYNC`; NTP and PTP daemons clear it), unless `[storage] require_synchronised_clock =
///   false` (a station without NTP), nor while `ClockGuard` distrusts it (before 2025, after 2100,
///   or within an hour of a jump).
/// - Retention counts from the *horizon*, never from the clock alone: the newest record at start
///   plus the time the daemon has been running (on the monotonic clock), or the clock when that is
///   earlier. A clock that jumped years ahead makes nothing old; after a stop, records are kept as
///   much longer as the stop lasted, until the next start.
/// - A previous run's records count only as far as the horizon it reached (persisted each pass) plus
///   `recordLead`: records a run wrote under a wrong clock do not move the next run's horizon.
/// - Each pass deletes at most `limit(count:period:retention:)` rows of a table (and history at most
///   one day table per kind): what the retention's share of one pass period implies, twice over.
public final class RetentionClock: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Prune what is older than the horizon minus the retention.
        case trusted(horizon: Date)
        /// Prune nothing; why.
        case distrusted(String)
    }

    private struct State {
        var guardian = ClockGuard()
        var anchor: Date
        var startMono: ContinuousClock.Instant
        var requireSynchronised: Bool
    }

    private let state: Mutex<State>
    private let kernel: @Sendable () -> Bool?
    /// The newest record when the daemon started (for the self-test's words).
    public let newestRecord: Date?

    /// How far a previous run's newest record may lead the horizon it persisted.
    public static let recordLead: TimeInterval = 2 * 3600
    /// How far the clock may run ahead of the horizon before the self-test calls it jumped.
    public static let jumpTolerance: TimeInterval = 7 * 86400

    public init(
        newestRecord: Date?, lastHorizon: Date?, requireSynchronised: Bool, now: Date = Date(),
        mono: ContinuousClock.Instant = .now, kernel: @escaping @Sendable () -> Bool? = KernelClock.synchronised
    ) {
        var anchor = newestRecord ?? now
        if let lastHorizon { anchor = min(anchor, lastHorizon.addingTimeInterval(Self.recordLead)) }
        self.newestRecord = newestRecord
        self.kernel = kernel
        state = Mutex(State(anchor: anchor, startMono: mono, requireSynchronised: requireSynchronised))
    }

    public func setRequireSynchronised(_ require: Bool) { state.withLock { $0.requireSynchronised = require } }

    public static let unsynchronised =
        "the kernel says the system clock is not synchronised (no NTP); nothing is pruned until it is (a station without NTP: [storage] require_synchronised_clock = false)"

    /// Whether retention may act now, and from which horizon.
    public func verdict(now: Date = Date(), mono: ContinuousClock.Instant = .now) -> Verdict {
        let require = state.withLock { $0.requireSynchronised }
        let synchronised = require ? kernel() : true
        return state.withLock { s in
            if let why = s.guardian.distrust(now: now, mono: mono) { return .distrusted(why) }
            if s.requireSynchronised, synchronised != true { return .distrusted(Self.unsynchronised) }
            return .trusted(horizon: min(now, s.anchor.addingTimeInterval((mono - s.startMono).seconds)))
        }
    }

    /// What the self-test says about the clock: nil when retention may trust it; else why not,
    /// including a clock far ahead of the station's records (it jumped, or the station was off long).
    public func problem(now: Date = Date(), mono: ContinuousClock.Instant = .now) -> String? {
        switch verdict(now: now, mono: mono) {
        case .distrusted(let why): return why
        case .trusted(let horizon):
            let ahead = now.timeIntervalSince(horizon)
            guard ahead > Self.jumpTolerance else { return nil }
            let days = Int(ahead / 86400)
            return
                "the clock reads \(now.formatted(.iso8601)), \(days) days ahead of the station's newest record (\((newestRecord ?? horizon).formatted(.iso8601))) and the time running since: a jumped clock or a long stop; old data is counted from the record, not the clock, so nothing is deleted early"
        }
    }

    /// The most rows one pass may delete from a table of `count` rows kept for `retention` and
    /// pruned every `period`: twice the share one period is of the retention, at least 10.
    public static func limit(count: Int, period: TimeInterval, retention: TimeInterval) -> Int {
        guard retention > 0, period < retention else { return count }
        let share = (Double(count) * 2 * period / retention).rounded(.up)
        return min(count, max(10, Int(min(share, Double(count)))))
    }
}

/// The kernel's view of the system clock.
public enum KernelClock {
    /// True when synchronised (`adjtimex` without `STA_UNSYNC`), false when not, nil when unknown.
    @Sendable public static func synchronised() -> Bool? {
        switch ws_clock_synchronised() {
        case 1: true
        case 0: false
        default: nil
        }
    }
}
