#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The charging-slot interlock, as a pure state machine driven by snapshots and the time given.
///
/// A slot is switched off (and stays off, latched, until an admin re-enables it) when it is past its
/// temperature limit, draws current with no battery present, heats faster than its rate-of-rise
/// limit, or when its temperature is unknown for longer than its grace; smoke — or a smoke input
/// that is unknown for longer than its grace — switches every slot off. Unknown means missing, a
/// sentinel ("no sensor"), not finite, stale, or unreadable: safety logic fails safe.
public struct InterlockLogic: Sendable {
    /// Current above this with no battery present is a fault (amperes).
    public static let currentThreshold = 0.1

    /// Why a slot is cut; each raises its own alert. Stored with a latch (`slot_lock.kind`) and sent
    /// as is to the kiosk, the metrics and `waystationctl`: a value, never read back from the words.
    public typealias Kind = InterlockKind

    /// A slot held off until an admin re-enables it: why, as a kind and in words.
    public struct Latch: Sendable, Equatable {
        public var kind: Kind
        /// Shown in the alert, the audit log and `waystationctl alerts`.
        public var reason: String

        public init(_ kind: Kind, _ reason: String) {
            self.kind = kind
            self.reason = reason
        }
    }

    public struct Decision: Sendable, Equatable {
        public var slot: String
        public var kind: Kind
        /// Why, in words: shown in the alert, the audit log and `waystationctl alerts`.
        public var reason: String
        /// The relay must be switched off now (a new trip, or a latched slot found on).
        public var switchOff: Bool
    }

    /// When each sensor (slot temperature or smoke input, by `device.point`) became unknown.
    private var unknownSince: [String: Date] = [:]
    /// Recent good temperatures per slot, oldest first, for the rate of rise.
    private var history: [String: [(at: Date, value: Double)]] = [:]

    public init() {}

    /// Why a sensor's reading cannot be trusted now, or nil when it can.
    static func unknown(_ p: StationSnapshot.Point?, staleAfter: Duration, now: Date) -> String? {
        guard let p else { return "no reading yet" }
        if p.failing { return "the sensor's device does not answer" }
        guard let value = p.value else { return "the sensor reports no reading" }
        guard value.isFinite else { return "the sensor reports \(value)" }
        guard let at = p.readAt else { return "no reading yet" }
        let age = now.timeIntervalSince(at)
        if age > staleAfter.seconds { return "last reading \(Int(age)) s old" }
        return nil
    }

    /// The unknown-sensor hazard after its grace, else nil (and the clock of unknown-since kept).
    private mutating func lost(
        _ key: String, _ p: StationSnapshot.Point?, staleAfter: Duration, grace: Duration, now: Date
    ) -> String? {
        guard let why = Self.unknown(p, staleAfter: staleAfter, now: now) else {
            unknownSince[key] = nil
            return nil
        }
        let since = unknownSince[key] ?? now
        unknownSince[key] = since
        return now.timeIntervalSince(since) >= grace.seconds ? why : nil
    }

    /// Decides what to do given the latest snapshot. `latched` slots stay off whatever the values.
    public mutating func evaluate(
        slots: [StationConfig.Slot], interlock: StationConfig.Interlock, latched: [String: Latch],
        snapshot: StationSnapshot, now: Date
    ) -> [Decision] {
        var smokeHazard: String?
        for ref in interlock.smoke {
            let p = snapshot.point(ref)
            if let why = lost(
                "smoke \(ref)", p, staleAfter: interlock.smokeStaleAfter, grace: interlock.smokeGrace, now: now)
            {
                smokeHazard = smokeHazard ?? "smoke detector \(ref) lost: \(why)"
            } else if let p, !p.failing, let v = p.value, v != 0 {
                smokeHazard = "smoke detected (\(ref))"
            }
        }
        var decisions: [Decision] = []
        for slot in slots {
            var hazard: (Kind, String)?
            if let smokeHazard {
                hazard = (.smoke, smokeHazard)
            }
            let t = snapshot.point(slot.temperature)
            if let why = lost(
                "slot \(slot.temperature)", t, staleAfter: slot.staleAfter, grace: slot.sensorGrace, now: now)
            {
                history[slot.id] = nil
                hazard = hazard ?? (.sensorLost, "temperature sensor lost (\(slot.temperature)): \(why)")
            } else if let temp = t?.value, Self.unknown(t, staleAfter: slot.staleAfter, now: now) == nil {
                if temp > slot.maxTemperature {
                    hazard =
                        hazard
                        ?? (
                            .overheated,
                            "temperature \(ValueText.format(temp)) °C above the limit of \(ValueText.format(slot.maxTemperature)) °C"
                        )
                }
                if let at = t?.readAt, let limit = slot.maxRise,
                    let rise = record(slot, at: at, value: temp, window: slot.riseWindow), rise > limit
                {
                    hazard =
                        hazard
                        ?? (
                            .temperatureRising,
                            "temperature rising \(ValueText.format(rise * 60)) °C/min, faster than \(ValueText.format(limit * 60)) °C/min"
                        )
                }
            }
            if hazard == nil, let c = slot.current, let battery = slot.batteryPresent,
                let amps = snapshot.value(c), amps.isFinite, amps > Self.currentThreshold,
                (snapshot.value(battery) ?? 1) == 0
            {
                hazard = (.noBattery, "drawing \(ValueText.format(amps)) A with no battery present")
            }
            // An unknown relay reads as on: switching off again is harmless, leaving it on is not.
            let relayOn = snapshot.value(slot.relay).map { $0 != 0 } ?? true
            if let (kind, reason) = hazard {
                if latched[slot.id] == nil || relayOn {
                    decisions.append(Decision(slot: slot.id, kind: kind, reason: reason, switchOff: true))
                }
            } else if let held = latched[slot.id], relayOn {
                // Latched: keep it off until an admin re-enables it.
                decisions.append(Decision(slot: slot.id, kind: held.kind, reason: held.reason, switchOff: true))
            }
        }
        return decisions
    }

    /// Adds a sample and returns the rate of rise (°C/s) over the window, robust to one noisy sample:
    /// the median of the first three samples against the median of the last three. Nil until the
    /// samples span half the window.
    mutating func record(_ slot: StationConfig.Slot, at: Date, value: Double, window: Duration) -> Double? {
        var samples = history[slot.id] ?? []
        if samples.last?.at != at { samples.append((at, value)) }
        samples.removeAll { at.timeIntervalSince($0.at) > window.seconds }
        history[slot.id] = samples
        guard samples.count >= 6, let first = samples.first, let last = samples.last,
            last.at.timeIntervalSince(first.at) >= window.seconds / 2
        else { return nil }
        // The middle sample (by value) of each end's three: one wild reading cannot make a trend.
        func median(_ s: ArraySlice<(at: Date, value: Double)>) -> (at: Date, value: Double) {
            let sorted = s.sorted { $0.value < $1.value }
            return sorted[sorted.startIndex + 1]
        }
        let early = median(samples.prefix(3))
        let late = median(samples.suffix(3))
        // Over the time between the ends' middles (by position), which a spike cannot stretch.
        let span = samples[samples.count - 2].at.timeIntervalSince(samples[1].at)
        guard span > 0 else { return nil }
        return (late.value - early.value) / span
    }

    /// Whether a slot may be switched back on now: no hazard, and its sensors known right now (no grace).
    public static func hazard(
        for slot: StationConfig.Slot, interlock: StationConfig.Interlock, snapshot: StationSnapshot, now: Date
    ) -> String? {
        for ref in interlock.smoke {
            let p = snapshot.point(ref)
            if let why = unknown(p, staleAfter: interlock.smokeStaleAfter, now: now) {
                return "smoke detector \(ref) unknown: \(why)"
            }
            if (p?.value ?? 0) != 0 { return "smoke detected (\(ref))" }
        }
        let t = snapshot.point(slot.temperature)
        if let why = unknown(t, staleAfter: slot.staleAfter, now: now) {
            return "temperature sensor unknown (\(slot.temperature)): \(why)"
        }
        if let temp = t?.value, temp > slot.maxTemperature {
            return
                "temperature \(ValueText.format(temp)) °C above the limit of \(ValueText.format(slot.maxTemperature)) °C"
        }
        if let c = slot.current, let battery = slot.batteryPresent, let amps = snapshot.value(c),
            amps > currentThreshold, (snapshot.value(battery) ?? 1) == 0
        {
            return "drawing \(ValueText.format(amps)) A with no battery present"
        }
        return nil
    }
}

extension InterlockKind {
    /// The alert it raises.
    public var alertName: String {
        switch self {
        case .overheated, .noBattery, .smoke, .storageRecovered: "SlotInterlock"
        case .sensorLost: "SlotSensorLost"
        case .temperatureRising: "SlotTemperatureRising"
        }
    }
}
