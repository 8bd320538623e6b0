import ArgumentParser
import WaystationProtocol

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Alerts that are pending, firing or resolved, and slots held off.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only this state: pending, firing or resolved.") var state: AlertState?

    func run() throws {
        try global.run(ListAlerts.self, .init(state: state)) { r in
            // Firing first, the most severe first; then pending; resolved ones in a table of their own.
            func rank(_ s: AlertState) -> Int { s == .firing ? 0 : s == .pending ? 1 : 2 }
            let ordered = r.alerts.enumerated().sorted { x, y in
                (rank(x.element.state), y.element.severity, x.offset) < (
                    rank(y.element.state), x.element.severity, y.offset
                )
            }.map(\.element)
            func table(_ alerts: [Alert]) -> String {
                var rows = [["STATE", "SEVERITY", "ALERT", "DEVICE", "SINCE", "SUMMARY", "FINGERPRINT"]]
                for a in alerts {
                    var st = a.state.rawValue
                    if a.acknowledgedBy != nil { st += " (ack)" }
                    if a.silenced { st += " (silenced)" }
                    rows.append([
                        st, a.severity.rawValue, a.name.terminalSafe, a.device.terminalSafe, Output.ago(a.since),
                        a.summary.terminalSafe, a.fingerprint.terminalSafe,
                    ])
                }
                return TextTable.render(rows)
            }
            let active = ordered.filter { $0.state != .resolved }, resolved = ordered.filter { $0.state == .resolved }
            if active.isEmpty && resolved.isEmpty { say("no alerts") }
            if !active.isEmpty { say(table(active)) }
            if !resolved.isEmpty {
                if !active.isEmpty { say("") }
                say("resolved:")
                say(table(resolved))
            }
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
        abstract: "Silence matching alerts for a while, or end a silence (admin).",
        subcommands: [SilenceAddCommand.self, SilenceExpireCommand.self], defaultSubcommand: SilenceAddCommand.self)
}

struct SilenceAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Hold back notifications of matching alerts for a while (admin).",
        discussion: """
            Example: waystationctl silence device=fridge alertname=FridgeDoorOpen --for 2h --comment "door repair"
            Matchers that match no alert this station can raise are refused, with the names that would match.
            """)
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

struct SilenceExpireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire", abstract: "End a silence now (admin); see `waystationctl silences` for ids.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The silence's id.") var id: Int

    func run() throws {
        try global.run(ExpireSilence.self, .init(id: id)) { _ in say("silence \(id) ended") }
    }
}

struct SilencesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silences", abstract: "Silences in force: what they match, until when, by whom, why.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(ListSilences.self) { r in
            var rows = [["ID", "MATCHERS", "UNTIL", "BY", "SILENCING", "COMMENT"]]
            for s in r.silences {
                rows.append([
                    String(s.id),
                    s.matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                    String(s.until.prefix(16)).replacingAll("T", with: " "), s.by, String(s.silencing), s.comment,
                ])
            }
            say(rows.count == 1 ? "no silences" : TextTable.render(rows))
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
