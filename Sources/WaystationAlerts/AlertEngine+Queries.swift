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

    /// Fills a rule's summary template: `{device}`, `{value}`, `{name}`, `{active}` (how long the
    /// condition has held, e.g. `4 minutes`). A device named like the word before it is not said
    /// twice: "Fridge {device} at …" for the device `fridge` reads "Fridge at …".
    public static func render(
        _ template: String, device: String, value: Double?, rule: String, active: TimeInterval? = nil
    ) -> String {
        var text = template
        let words = template.split(separator: " ", omittingEmptySubsequences: false)
        if let i = words.firstIndex(of: "{device}"), i > 0, words[i - 1].lowercased() == device.lowercased() {
            text = (words[..<i] + words[(i + 1)...]).joined(separator: " ")
        }
        return text.replacingAll("{device}", with: device)
            .replacingAll("{value}", with: value.map(ValueText.format) ?? "?")
            .replacingAll("{name}", with: rule)
            .replacingAll("{active}", with: spoken(active ?? 0))
    }

    /// `45 seconds`, `1 minute`, `12 minutes`, `2 hours 5 minutes`.
    static func spoken(_ seconds: TimeInterval) -> String {
        let s = Int(max(0, seconds.isFinite ? seconds : 0))
        func unit(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if s < 60 { return unit(s, "second") }
        if s < 3600 { return unit(s / 60, "minute") }
        return unit(s / 3600, "hour") + (s % 3600 >= 60 ? " " + unit(s % 3600 / 60, "minute") : "")
    }
}
