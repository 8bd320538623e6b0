import ArgumentParser
import WaystationProtocol

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Alerts that are pending, firing or resolved, and slots held off.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only this state: pending, firing or resolved.") var state: AlertState?

    func run() throws {
        try global.run(ListAlerts.self, .init(state: state)) { r in
            var rows = [["STATE", "SEVERITY", "ALERT", "DEVICE", "SINCE", "SUMMARY", "FINGERPRINT"]]
            for a in r.alerts {
                var st = a.state.rawValue
                if a.acknowledgedBy != nil { st += " (ack)" }
                if a.silenced { st += " (silenced)" }
                rows.append([
                    st, a.severity.rawValue, a.name.terminalSafe, a.device.terminalSafe, Output.ago(a.since),
                    a.summary.terminalSafe, a.fingerprint.terminalSafe,
                ])
            }
            say(rows.count == 1 ? "no alerts" : TextTable.render(rows))
            for s in r.latchedSlots {
                say(
                    "slot \(s.slot) is held OFF by the interlock (\(s.kind?.rawValue ?? "interlock")): \(s.reason.terminalSafe) — `waystationctl enable-slot \(s.slot)` once safe"
                )
            }
        }
    }
}

extension AlertState: ExpressibleByArgument {}

struct AckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack", abstract: "Acknowledge a firing alert (admin): reminders stop.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The alert's fingerprint (see `alerts`).") var fingerprint: String
    @Option(name: .long, help: "What is being done about it.") var note: String = ""

    func run() throws {
        try global.run(AcknowledgeAlert.self, .init(fingerprint: fingerprint, note: note)) {
            say("acknowledged \($0.alert.name) on \($0.alert.device)")
        }
    }
}

struct SilenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Hold back notifications of matching alerts for a while (admin).",
        discussion:
            "Example: waystationctl silence device=fridge alertname=FridgeDoorOpen --for 2h --comment \"door repair\"")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "label=value matchers (all must match).") var matchers: [String]
    @Option(name: .customLong("for"), help: "How long (e.g. 30m, 2h).") var duration: String
    @Option(name: .long, help: "Why.") var comment: String = ""

    func run() throws {
        var m: [String: String] = [:]
        for text in matchers {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("matcher \"\(text)\" is not label=value")
            }
            m[parts[0]] = parts[1]
        }
        guard DurationParser.parse(duration) != nil else {
            throw ValidationError("--for \"\(duration)\" needs a unit (e.g. 30m or 2h) and at most 10 years")
        }
        try global.run(Silence.self, .init(matchers: m, duration: duration, comment: comment)) {
            say("silenced until \($0.until)")
        }
    }
}

struct EnableSlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable-slot",
        abstract: "Switch a charging slot back on after an interlock (admin; refused while unsafe).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Slot id from [[slot]].") var slot: String

    func run() throws {
        try global.run(EnableSlot.self, .init(slot: slot)) { _ in say("slot \(slot) switched on") }
    }
}
