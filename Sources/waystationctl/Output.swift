#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import WaystationProtocol

/// Human output: aligned tables, colour only on a terminal (and never with NO_COLOR).
enum Output {
    static let colour: Bool = isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    static func state(_ s: String) -> String {
        switch s {
        case "online": paint(s, "32")
        case "degraded": paint(s, "33")
        case "offline": paint(s, "31;1")
        case "maintenance": paint(s, "36")
        default: s
        }
    }

    /// Writes CSV (a header line, then one line per row, fields quoted where they need it) to a file,
    /// or to stdout when there is none.
    static func csv(header: [String], rows: [[String]], to output: String?) throws {
        var text = header.joined(separator: ",") + "\n"
        for row in rows { text += row.map(csvField).joined(separator: ",") + "\n" }
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            SystemIO.writeOutput(text)
        }
    }

    /// A cell: neutralised against formula injection (`TerminalText.csvCell`), then quoted where
    /// it needs it.
    static func csvField(_ text: String) -> String {
        let s = TerminalText.csvCell(text)
        return s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"\(s.replacingAll("\"", with: "\"\""))\"" : s
    }

    /// "uid 0 or membership of group waystation-admin": how to join that group.
    static func joinHint(_ required: String) -> String {
        let words = required.split(separator: " ")
        guard let i = words.firstIndex(of: "group"), i + 1 < words.count else { return "" }
        let name = words[i + 1]
        return " — join the group \"\(name)\" (sudo usermod -aG \(name) $USER, then log in again) or run with sudo"
    }

    /// For a socket this user may not open: the group that may, and how to join it.
    static func groupHint(socket: String, reason: String) -> String {
        guard reason.lowercased().contains("permission denied") else { return "" }
        var info = stat()
        guard stat(socket, &info) == 0 else { return " (run with sudo, or join the socket's group)" }
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(info.st_gid, &grp, &buffer, buffer.count, &result) == 0, result != nil,
            let name = grp.gr_name.map({ String(cString: $0) })
        else { return " (run with sudo, or join the socket's group)" }
        return " — join the group \"\(name)\" (sudo usermod -aG \(name) $USER, then log in again) or run with sudo"
    }

    static func error(_ text: String) {
        SystemIO.writeError("waystationctl: \(text)\n")
    }

    /// A station error in words.
    static func describe(_ e: StationError) -> String {
        switch e {
        case .deviceNotFound(let d): "no device \"\(d)\""
        case .pointNotFound(let d, let p): "device \"\(d)\" has no point \"\(p)\""
        case .pointNotWritable(let d, let p): "\(d).\(p) is read-only"
        case .valueOutOfRange(let d, let p, let v, let min, let max):
            "\(ValueText.format(v)) is outside \(number(min))…\(number(max)) for \(d).\(p)"
        case .deviceOffline(let d, let error): "device \"\(d)\" did not answer: \(error)"
        case .permissionDenied(let method, _, let required):
            "permission denied: \(method) needs \(required)" + joinHint(required)
        case .slotUnsafe(let slot, let reason): "slot \(slot) stays off: \(reason)"
        case .slotNotFound(let slot): "no slot \"\(slot)\""
        case .alertNotFound(let fp): "no alert with fingerprint \(fp)"
        case .alertNotFiring(_, let state): "that alert is \(state), not firing"
        case .notCheckedIn: "that rider has no open visit"
        case .unknownCategory(let c, let known): "unknown category \"\(c)\"; known: \(known.joined(separator: ", "))"
        case .configRefused(let errors): "config refused; the running config stays:\n\(errors)"
        case .notReady: "the daemon is still starting; try again in a moment"
        case .internalError(let error): "the daemon failed: \(error)"
        case .sessionExpired: "the kiosk session has expired"
        case .rateLimited(let s): "too many scans; try again in \(s) s"
        case .invalidReport(let field, let reason): "invalid report: \(field): \(reason)"
        case .reportNotFound(let id): "no report \(id)"
        case .reportAlreadyJudged(let id, let status): "report \(id) is already \(status)"
        case .storageFull(let directory):
            "storage full: the disk holding \(directory) has no space left, so nothing was recorded; free space there (old logs, backups) and try again"
        case .checkInPaused(let reason): "check-in is paused: \(reason)"
        case .districtNotEnrolled: "this station has no [district] in its config: it is not enrolled at a district hub"
        }
    }

    /// Another varlink error (org.varlink.service.*) in words.
    static func describe(_ e: VarlinkError) -> String {
        switch e.name {
        case "org.varlink.service.InvalidParameter":
            var text = "invalid parameter \(e.parameters["parameter"]?.string ?? "")"
            if let reason = e.parameters["reason"]?.string { text += ": \(reason)" }
            return text
        case "org.varlink.service.MethodNotFound":
            return "the daemon does not know \(e.parameters["method"]?.string ?? "this method") (an older version?)"
        default: return e.description
        }
    }

    static func number(_ d: Double?) -> String { d.map(ValueText.format) ?? "-" }

    static func ago(_ iso: String?) -> String {
        guard let iso, let date = try? Date(iso, strategy: .iso8601) else { return "never" }
        return duration(Date().timeIntervalSince(date)) + " ago"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(max(seconds.isFinite ? seconds : 0, 0))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }

    static func deviceTable(_ devices: [DeviceSummary]) -> String {
        var rows = [["DEVICE", "KIND", "STATE", "BUS/UNIT", "LAST GOOD", "LAST ERROR"]]
        var states: [String] = []
        for d in devices {
            // A maintenance reason is what the technician wrote, not an error: it goes with the state.
            let st = d.maintenance ? "maintenance" : d.state.rawValue
            states.append(st)
            let shown = d.maintenance ? "maintenance (\(d.maintenanceReason ?? "no reason given"))" : st
            rows.append([
                d.id, d.kind, shown.terminalSafe, "\(d.bus)/\(d.unit)", ago(d.lastGood),
                (d.lastError ?? "").terminalSafe,
            ])
        }
        // Pad before colouring so escape codes do not break alignment.
        let lines = TextTable.render(rows).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return lines.enumerated().map { i, line in
            guard i > 0, colour else { return line }
            return line.replacingAll(" \(states[i - 1]) ", with: " \(state(states[i - 1])) ")
        }.joined(separator: "\n")
    }

    static func status(_ r: GetStatus.Reply) {
        say(
            "Station \(r.station.id) — \(r.station.name)   waystationd \(r.version), up \(duration(r.uptime))")
        let online = r.devices.filter { $0.state == .online }.count
        say(
            "Devices \(online)/\(r.devices.count) online   Occupancy \(r.occupancy)/\(r.station.capacity)   Active alerts \(r.activeAlerts)"
        )
        if r.storageOk == false { say("STORAGE FAILING: \(r.storageError ?? "writes fail")") }
        say()
        say(deviceTable(r.devices))
    }

    static func pointLine(_ p: PointReading) -> String {
        var text = "\(p.name) = \(valueText(p))"
        if p.quality != "good" { text += " [\(p.quality)]" }
        return text
    }

    static func valueText(_ p: PointReading) -> String {
        guard let v = p.value else { return "-" }
        if let label = p.label, label == "true" || label == "false" { return label }
        var text = ValueText.format(v)
        if let unit = p.unit { text += " \(unit)" }
        if let label = p.label { text += " (\(label))" }
        return text
    }

    static func device(_ d: DeviceDetail) {
        say(deviceTable([d.device]))
        say()
        var rows = [["POINT", "VALUE", "QUALITY", "AGE", "WRITABLE"]]
        for p in d.points {
            var quality = p.quality
            if let e = p.error { quality += ": \(e.terminalSafe)" }
            var writable = p.writable ? "yes" : ""
            if p.writable, let min = p.min, let max = p.max {
                writable = "\(ValueText.format(min))…\(ValueText.format(max))"
            }
            rows.append([p.name, valueText(p), quality, p.age.map { duration($0) } ?? "-", writable])
        }
        say(TextTable.render(rows))
    }

    static func selfTest(_ r: SelfTest.Reply) {
        var rows = [["CHECK", "RESULT", "LATENCY", "DETAIL"]]
        for d in r.devices {
            rows.append([
                d.id, d.ok ? "ok" : "FAIL", "\(ValueText.format(d.latencyMs)) ms", (d.error ?? "").terminalSafe,
            ])
        }
        rows.append(["storage", r.storageOk ? "ok" : "FAIL", "", (r.storageError ?? "").terminalSafe])
        rows.append(["clock", r.clockOk ? "ok" : "FAIL", "", r.clock + (r.clockError.map { ": \($0)" } ?? "")])
        say(TextTable.render(rows))
        say(r.ok ? "everything is fine" : "something needs attention")
    }

    static func event(_ e: Event) {
        switch e.kind {
        case .snapshot:
            say("\(e.at) current state:")
            say(deviceTable(e.devices ?? []))
        case .deviceState:
            say("\(e.at) \(e.device ?? ""): \(e.from ?? "") → \(state(e.to ?? "")) (\((e.cause ?? "").terminalSafe))")
        case .maintenance:
            say("\(e.at) \(e.device ?? ""): maintenance \(e.to ?? "") \((e.cause ?? "").terminalSafe)")
        case .reload:
            say("\(e.at) config reload \(e.to ?? "")\(e.cause.map { ": \($0)" } ?? "")")
        case .checkIn, .checkOut, .visitClosed:
            let occupancy = e.occupancy.map { ", occupancy \($0)" } ?? ""
            say("\(e.at) \(e.kind.rawValue.replacingAll("_", with: " "))\(occupancy)")
        case .alert, .interlock:
            say("\(e.at) \(e.kind.rawValue) \(e.device ?? ""): \(e.to ?? "") — \((e.cause ?? "").terminalSafe)")
        }
    }
}

/// Writes a line to stdout unbuffered, so `watch` output reaches a pipe at once.
func say(_ text: String = "") {
    SystemIO.writeOutput(text + "\n")
}

/// The options of a CSV export for the district: a time range and where the CSV goes.
struct ExportOptions: ParsableArguments {
    @Option(name: .long, help: "From (ISO 8601 date or date-time).") var from: String
    @Option(name: .long, help: "To (exclusive).") var to: String
    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.") var output: String?

    /// Calls the listing method for the rows (always its typed reply: `--json` does not apply to CSV).
    func fetch<M: StationMethod>(
        _ method: M.Type, _ parameters: M.Parameters, _ global: GlobalOptions, rows: (M.Reply) throws -> Void
    ) throws {
        var quiet = global
        quiet.json = false
        try quiet.run(method, parameters, human: rows)
    }
}
