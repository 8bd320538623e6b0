import Foundation
import WaystationCore

/// The charging-slot interlock (pure). A slot past its temperature limit, or drawing current with
/// no battery present, is switched off; smoke switches every slot off. A tripped slot stays off
/// (latched) until an admin re-enables it.
public enum InterlockLogic {
    /// Current above this with no battery present is a fault (amperes).
    public static let currentThreshold = 0.1

    public struct Action: Sendable, Equatable {
        public var slot: String
        /// Why: shown in the alert and the audit log.
        public var reason: String
        /// The relay must be switched off now (a new trip, or a latched slot found on).
        public var switchOff: Bool
    }

    /// Decides what to do given the latest values. `value` gives a point's latest good value.
    public static func evaluate(
        slots: [StationConfig.Slot], smoke: [StationConfig.PointRef], latched: [String: String],
        value: (StationConfig.PointRef) -> Double?
    ) -> [Action] {
        let smokeOn = smoke.first { (value($0) ?? 0) != 0 }
        var actions: [Action] = []
        for slot in slots {
            var reason: String?
            if let smokeOn {
                reason = "smoke detected (\(smokeOn))"
            } else if let t = value(slot.temperature), t > slot.maxTemperature {
                reason =
                    "temperature \(PointValue.format(t)) °C above the limit of \(PointValue.format(slot.maxTemperature)) °C"
            } else if let c = slot.current, let battery = slot.batteryPresent, let amps = value(c),
                amps > currentThreshold,
                (value(battery) ?? 1) == 0
            {
                reason = "drawing \(PointValue.format(amps)) A with no battery present"
            }
            let relayOn = (value(slot.relay) ?? 0) != 0
            if let reason {
                if latched[slot.id] == nil || relayOn {
                    actions.append(Action(slot: slot.id, reason: reason, switchOff: true))
                }
            } else if let held = latched[slot.id], relayOn {
                // Latched: keep it off until an admin re-enables it.
                actions.append(Action(slot: slot.id, reason: held, switchOff: true))
            }
        }
        return actions
    }
}
