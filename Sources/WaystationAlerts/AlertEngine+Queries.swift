#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// What the engine answers without changing: alert lists and counts for the control socket, whether
/// an alert is silenced, whether a slot may be switched back on, and a rule's summary text.
extension AlertEngine {
    /// Alerts not inactive (or in one state), newest first, with whether each is silenced.
    public func list(state: AlertState?, now: Date) -> [(AlertInstance, silenced: Bool)] {
        alerts.values.filter { state == nil ? $0.state != .inactive : $0.state == state }
            .sorted { ($0.firedAt ?? $0.activeSince ?? .distantPast) > ($1.firedAt ?? $1.activeSince ?? .distantPast) }
            .map { ($0, isSilenced($0, at: now)) }
    }

    public var firingCount: Int { alerts.values.filter { $0.state == .firing }.count }

    public func isSilenced(_ a: AlertInstance, at now: Date) -> Bool {
        silences.contains { $0.matches(a, at: now) }
    }

    /// The slot, if it may be switched back on now; refused while its hazard is still there.
    public func checkEnable(_ slotID: String, snapshot: StationSnapshot, now: Date) throws(AlertError)
        -> StationConfig.Slot
    {
        guard let slot = config.slots.first(where: { $0.id == slotID }) else { throw .slotNotFound }
        if let hazard = InterlockLogic.hazard(for: slot, interlock: config.interlock, snapshot: snapshot, now: now) {
            throw .stillUnsafe(hazard)
        }
        return slot
    }

    /// Fills a rule's summary template: `{device}`, `{value}`, `{name}`.
    public static func render(_ template: String, device: String, value: Double?, rule: String) -> String {
        template.replacingAll("{device}", with: device)
            .replacingAll("{value}", with: value.map(ValueText.format) ?? "?")
            .replacingAll("{name}", with: rule)
    }
}
