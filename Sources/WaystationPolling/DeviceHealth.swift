#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// A device's health: online → degraded (some reads failing) → offline (N failed cycles in a row, or
/// no good read for a while) → online again. Pure: driven by poll outcomes and the time given.
public struct DeviceHealth: Sendable, Equatable {
    public typealias State = DeviceState

    /// A change of state, with its time and cause, to be recorded.
    public struct Transition: Sendable, Equatable {
        public var from: State
        public var to: State
        public var at: Date
        public var cause: String
    }

    /// Outcome of one poll cycle of a device.
    public enum Outcome: Sendable, Equatable {
        case allGood
        /// Some reads failed; the first error.
        case partial(String)
        /// Every read failed.
        case failed(String)
    }

    public private(set) var state: State = .unknown
    public private(set) var consecutiveFailures = 0
    public private(set) var lastGood: Date?
    public private(set) var lastError: String?
    public private(set) var since: Date?
    /// Failed cycles in a row that make a device offline.
    public var offlineAfterFailures: Int
    /// No good read for this long makes a device offline.
    public var offlineAfterSilence: TimeInterval

    public init(offlineAfterFailures: Int = 3, offlineAfterSilence: TimeInterval = 60) {
        self.offlineAfterFailures = offlineAfterFailures
        self.offlineAfterSilence = offlineAfterSilence
    }

    /// Records a cycle's outcome; returns the transition when the state changed.
    public mutating func record(_ outcome: Outcome, at now: Date) -> Transition? {
        let next: State
        let cause: String
        switch outcome {
        case .allGood:
            consecutiveFailures = 0
            lastGood = now
            lastError = nil
            next = .online
            cause = state == .unknown ? "first good read" : "all reads good again"
        case .partial(let error):
            consecutiveFailures = 0
            lastGood = now
            lastError = error
            next = .degraded
            cause = "some reads failing: \(error)"
        case .failed(let error):
            consecutiveFailures += 1
            lastError = error
            let silentFor = lastGood.map { now.timeIntervalSince($0) } ?? .infinity
            if consecutiveFailures >= offlineAfterFailures || (lastGood != nil && silentFor >= offlineAfterSilence) {
                next = .offline
                cause =
                    consecutiveFailures >= offlineAfterFailures
                    ? "\(consecutiveFailures) failed polls in a row: \(error)"
                    : "no good read for \(Int(silentFor)) s: \(error)"
            } else {
                next = state == .offline ? .offline : .degraded
                cause = "poll failed: \(error)"
            }
        }
        guard next != state else { return nil }
        let transition = Transition(from: state, to: next, at: now, cause: cause)
        state = next
        since = now
        return transition
    }
}
