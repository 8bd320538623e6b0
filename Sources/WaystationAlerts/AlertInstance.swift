import Foundation
import WaystationCore

/// One alert: a rule on a device, identified by the fingerprint of its labels.
public struct AlertInstance: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case inactive, pending, firing, resolved
    }

    public var fingerprint: String
    public var rule: String
    public var device: String
    public var labels: [String: String]
    public var severity: String
    public var state: State = .inactive
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

    public init(rule: String, device: String, labels: [String: String], severity: String, summary: String) {
        self.rule = rule
        self.device = device
        self.labels = labels
        self.severity = severity
        self.summary = summary
        fingerprint = Self.fingerprint(labels)
    }

    /// FNV-1a 64 over the sorted label pairs, as Alertmanager fingerprints alerts.
    public static func fingerprint(_ labels: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for key in labels.keys.sorted() {
            for byte in Array(key.utf8) + [0xff] + Array((labels[key] ?? "").utf8) + [0xff] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
        }
        return String(format: "%016llx", hash)
    }

    var json: JSON {
        func date(_ d: Date?) -> JSON { d.map { .number($0.timeIntervalSince1970) } ?? .null }
        return [
            "fingerprint": .string(fingerprint), "rule": .string(rule), "device": .string(device),
            "labels": .object(labels.mapValues(JSON.string)), "severity": .string(severity),
            "state": .string(state.rawValue),
            "active_since": date(activeSince), "fired_at": date(firedAt), "resolved_at": date(resolvedAt),
            "last_true": date(lastTrue), "last_notified": date(lastNotified), "value": .optional(value),
            "summary": .string(summary), "ack_by": .optional(ackBy), "ack_note": .optional(ackNote),
            "ack_at": date(ackAt),
            "escalated": .bool(escalated),
        ]
    }

    init?(json: JSON) {
        func date(_ key: String) -> Date? { json[key]?.number.map { Date(timeIntervalSince1970: $0) } }
        guard let rule = json["rule"]?.string, let device = json["device"]?.string,
            let labels = json["labels"]?.object?.compactMapValues(\.string),
            let state = json["state"]?.string.flatMap(State.init)
        else { return nil }
        self.init(
            rule: rule, device: device, labels: labels, severity: json["severity"]?.string ?? "warning",
            summary: json["summary"]?.string ?? rule)
        self.state = state
        activeSince = date("active_since")
        firedAt = date("fired_at")
        resolvedAt = date("resolved_at")
        lastTrue = date("last_true")
        lastNotified = date("last_notified")
        value = json["value"]?.number
        ackBy = json["ack_by"]?.string
        ackNote = json["ack_note"]?.string
        ackAt = date("ack_at")
        escalated = json["escalated"]?.bool ?? false
    }
}

/// The lifecycle of one alert (pure): inactive → pending → firing → resolved, with `for` and
/// `keep_firing_for`. Returns the state entered when it changed.
public enum AlertLifecycle {
    public static func step(
        _ a: inout AlertInstance, conditionTrue: Bool, forDuration: Duration, keepFiringFor: Duration, at now: Date
    ) -> AlertInstance.State? {
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
