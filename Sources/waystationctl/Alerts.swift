import ArgumentParser
import Foundation
import WaystationControl
import WaystationCore

struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Alerts that are pending, firing or resolved, and slots held off.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only this state: pending, firing or resolved.") var state: String?

    func run() throws {
        let r = try global.call("ListAlerts", ["state": .optional(state)])
        global.emit(r) {
            var rows = [["STATE", "SEVERITY", "ALERT", "DEVICE", "SINCE", "SUMMARY", "FINGERPRINT"]]
            for a in r["alerts"]?.array ?? [] {
                var st = a["state"]?.string ?? "?"
                if a["acknowledged_by"]?.string != nil { st += " (ack)" }
                if a["silenced"]?.bool == true { st += " (silenced)" }
                rows.append([
                    st, a["severity"]?.string ?? "", a["name"]?.string ?? "", a["device"]?.string ?? "",
                    Output.ago(a["since"]?.string), a["summary"]?.string ?? "", a["fingerprint"]?.string ?? "",
                ])
            }
            say(rows.count == 1 ? "no alerts" : TextTable.render(rows))
            for s in r["latched_slots"]?.array ?? [] {
                say(
                    "slot \(s["slot"]?.string ?? "?") is held OFF by the interlock: \(s["reason"]?.string ?? "") — `waystationctl enable-slot \(s["slot"]?.string ?? "?")` once safe"
                )
            }
        }
    }
}

struct Ack: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Acknowledge a firing alert (admin): reminders stop.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The alert's fingerprint (see `alerts`).") var fingerprint: String
    @Option(name: .long, help: "What is being done about it.") var note: String = ""

    func run() throws {
        let r = try global.call("AcknowledgeAlert", ["fingerprint": .string(fingerprint), "note": .string(note)])
        global.emit(r) {
            say("acknowledged \(r["alert"]?["name"]?.string ?? "") on \(r["alert"]?["device"]?.string ?? "")")
        }
    }
}

struct Silence: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold back notifications of matching alerts for a while (admin).",
        discussion:
            "Example: waystationctl silence device=fridge alertname=FridgeDoorOpen --for 2h --comment \"door repair\"")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "label=value matchers (all must match).") var matchers: [String]
    @Option(name: .customLong("for"), help: "How long (e.g. 30m, 2h).") var duration: String
    @Option(name: .long, help: "Why.") var comment: String = ""

    func run() throws {
        var m: [String: JSON] = [:]
        for text in matchers {
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("matcher \"\(text)\" is not label=value")
            }
            m[parts[0]] = .string(parts[1])
        }
        guard DurationParser.parse(duration) != nil else {
            throw ValidationError("--for \"\(duration)\" needs a unit, e.g. 30m or 2h")
        }
        let r = try global.call(
            "Silence", ["matchers": .object(m), "duration": .string(duration), "comment": .string(comment)])
        global.emit(r) { say("silenced until \(r["until"]?.string ?? "?")") }
    }
}

struct EnableSlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable-slot",
        abstract: "Switch a charging slot back on after an interlock (admin; refused while unsafe).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Slot id from [[slot]].") var slot: String

    func run() throws {
        let r = try global.call("EnableSlot", ["slot": .string(slot)])
        global.emit(r) { say("slot \(slot) switched on") }
    }
}
