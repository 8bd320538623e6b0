#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// One alert: a rule on a device, identified by the fingerprint of its labels.
public struct AlertInstance: Sendable, Equatable {
    public var fingerprint: String
    public var rule: String
    public var device: String
    public var labels: [String: String]
    public var severity: Severity
    public var state: AlertState = .inactive
    /// When the condition became true (pending since).
    public var activeSince: Date?
    public var firedAt: Date?
    public var resolvedAt: Date?
    /// Last evaluation with the condition true (for keep_firing_for).
    public var lastTrue: Date?
    /// Last notification sent (firing or reminder).
    public var lastNotified: Date?
    public var value: Double?
    public var summary: String
    public var ackBy: String?
    public var ackNote: String?
    public var ackAt: Date?
    /// Raised to critical because an interlock action failed.
    public var escalated = false

    public init(rule: String, device: String, labels: [String: String], severity: Severity, summary: String) {
        self.rule = rule
        self.device = device
        self.labels = labels
        self.severity = severity
        self.summary = summary
        fingerprint = Self.fingerprint(labels)
    }

    /// FNV-1a 64 over the sorted label pairs, as Alertmanager fingerprints alerts; 16 hex digits.
    public static func fingerprint(_ labels: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for key in labels.keys.sorted() {
            for byte in key.utf8 { mix(byte) }
            mix(0xff)
            for byte in (labels[key] ?? "").utf8 { mix(byte) }
            mix(0xff)
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// The lifecycle of one alert (pure): inactive → pending → firing → resolved, with `for` and
/// `keep_firing_for`. Returns the state entered when it changed.
public enum AlertLifecycle {
    public static func step(
        _ a: inout AlertInstance, conditionTrue: Bool, forDuration: Duration, keepFiringFor: Duration, at now: Date
    ) -> AlertState? {
        if conditionTrue {
            a.lastTrue = now
            switch a.state {
            case .inactive, .resolved:
                a.activeSince = now
                a.resolvedAt = nil
                a.ackBy = nil
                a.ackNote = nil
                a.ackAt = nil
                if forDuration <= .zero {
                    a.state = .firing
                    a.firedAt = now
                    return .firing
                }
                a.state = .pending
                return .pending
            case .pending:
                if let since = a.activeSince, now.timeIntervalSince(since) >= forDuration.seconds {
                    a.state = .firing
                    a.firedAt = now
                    return .firing
                }
                return nil
            case .firing:
                return nil
            }
        }
        switch a.state {
        case .pending:
            a.state = .inactive
            a.activeSince = nil
            return .inactive
        case .firing:
            if let last = a.lastTrue, now.timeIntervalSince(last) < keepFiringFor.seconds { return nil }
            a.state = .resolved
            a.resolvedAt = now
            return .resolved
        case .inactive, .resolved:
            return nil
        }
    }
}

/// A silence: alerts whose labels match every matcher send no notifications until `until`.
public struct SilenceEntry: Sendable, Equatable {
    public var id: Int64
    public var matchers: [String: String]
    public var until: Date
    public var by: String
    public var comment: String

    public init(id: Int64, matchers: [String: String], until: Date, by: String, comment: String) {
        self.id = id
        self.matchers = matchers
        self.until = until
        self.by = by
        self.comment = comment
    }

    public func matches(_ a: AlertInstance, at now: Date) -> Bool {
        until > now && matchers.allSatisfy { a.labels[$0.key] == $0.value }
    }
}
