import Foundation
import WaystationControl
import WaystationCore

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

    static func error(_ text: String) {
        FileHandle.standardError.write(Data("waystationctl: \(text)\n".utf8))
    }

    /// A varlink error in words.
    static func describe(error: String, parameters: JSON) -> String {
        let name = error.split(separator: ".").last.map(String.init) ?? error
        let p = parameters
        switch name {
        case "DeviceNotFound": return "no device \"\(p["device"]?.string ?? "?")\""
        case "PointNotFound":
            return "device \"\(p["device"]?.string ?? "?")\" has no point \"\(p["point"]?.string ?? "?")\""
        case "PointNotWritable": return "\(p["device"]?.string ?? "?").\(p["point"]?.string ?? "?") is read-only"
        case "ValueOutOfRange":
            return
                "\(number(p["value"])) is outside \(number(p["min"]))…\(number(p["max"])) for \(p["device"]?.string ?? "?").\(p["point"]?.string ?? "?")"
        case "DeviceOffline":
            return "device \"\(p["device"]?.string ?? "?")\" did not answer: \(p["error"]?.string ?? "")"
        case "PermissionDenied":
            return
                "permission denied: \(p["method"]?.string ?? "this") needs \(p["required"]?.string ?? "admin rights")"
        case "SlotUnsafe": return "slot \(p["slot"]?.string ?? "?") stays off: \(p["reason"]?.string ?? "still unsafe")"
        case "SlotNotFound": return "no slot \"\(p["slot"]?.string ?? "?")\""
        case "AlertNotFound": return "no alert with fingerprint \(p["fingerprint"]?.string ?? "?")"
        case "AlertNotFiring": return "that alert is \(p["state"]?.string ?? "not firing"), not firing"
        case "NotCheckedIn": return "that rider has no open visit"
        case "UnknownCategory":
            return
                "unknown category \"\(p["category"]?.string ?? "?")\"; known: \((p["known"]?.array ?? []).compactMap(\.string).joined(separator: ", "))"
        case "ConfigRefused": return "config refused; the running config stays:\n\(p["errors"]?.string ?? "")"
        default: return "\(error) \(parameters.text)"
        }
    }

    static func number(_ j: JSON?) -> String {
        guard let n = j?.number else { return "-" }
        return PointValue.format(n)
    }

    static func ago(_ iso: String?) -> String {
        guard let iso, let date = try? Date(iso, strategy: .iso8601) else { return "never" }
        return duration(Date().timeIntervalSince(date)) + " ago"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(max(seconds, 0))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }

    static func deviceTable(_ devices: [JSON]) -> String {
        var rows = [["DEVICE", "KIND", "STATE", "BUS/UNIT", "LAST GOOD", "LAST ERROR"]]
        var states: [String] = []
        for d in devices {
            let maintenance = d["maintenance"]?.bool == true
            let st = maintenance ? "maintenance" : (d["state"]?.string ?? "?")
            states.append(st)
            var last = d["last_error"]?.string ?? ""
            if maintenance { last = d["maintenance_reason"]?.string ?? last }
            rows.append([
                d["id"]?.string ?? "?", d["kind"]?.string ?? "", st,
                "\(d["bus"]?.string ?? "")/\(Int(d["unit"]?.number ?? 0))", ago(d["last_good"]?.string), last,
            ])
        }
        // Pad before colouring so escape codes do not break alignment.
        let lines = TextTable.render(rows).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return lines.enumerated().map { i, line in
            guard i > 0, colour else { return line }
            return line.replacingOccurrences(of: " \(states[i - 1]) ", with: " \(state(states[i - 1])) ")
        }.joined(separator: "\n")
    }

    static func status(_ r: JSON) {
        let station = r["station"] ?? [:]
        say(
            "Station \(station["id"]?.string ?? "?") — \(station["name"]?.string ?? "")   waystationd \(r["version"]?.string ?? "?"), up \(duration(r["uptime"]?.number ?? 0))"
        )
        let devices = r["devices"]?.array ?? []
        let online = devices.filter { $0["state"]?.string == "online" }.count
        say(
            "Devices \(online)/\(devices.count) online   Occupancy \(Int(r["occupancy"]?.number ?? 0))/\(Int(station["capacity"]?.number ?? 0))   Active alerts \(Int(r["active_alerts"]?.number ?? 0))"
        )
        say()
        say(deviceTable(devices))
    }

    static func pointLine(_ p: JSON) -> String {
        var text = "\(p["name"]?.string ?? "?") = \(valueText(p))"
        if let q = p["quality"]?.string, q != "good" { text += " [\(q)]" }
        return text
    }

    static func valueText(_ p: JSON) -> String {
        guard let v = p["value"]?.number else { return "-" }
        if let label = p["label"]?.string, label == "true" || label == "false" { return label }
        var text = PointValue.format(v)
        if let unit = p["unit"]?.string { text += " \(unit)" }
        if let label = p["label"]?.string { text += " (\(label))" }
        return text
    }

    static func device(_ d: JSON) {
        say(deviceTable([d["device"] ?? [:]]))
        say()
        var rows = [["POINT", "VALUE", "QUALITY", "AGE", "WRITABLE"]]
        for p in d["points"]?.array ?? [] {
            let age = p["age"]?.number.map { duration($0) } ?? "-"
            var quality = p["quality"]?.string ?? "?"
            if let e = p["error"]?.string { quality += ": \(e)" }
            var writable = p["writable"]?.bool == true ? "yes" : ""
            if writable == "yes", let min = p["min"]?.number, let max = p["max"]?.number {
                writable = "\(PointValue.format(min))…\(PointValue.format(max))"
            }
            rows.append([p["name"]?.string ?? "?", valueText(p), quality, age, writable])
        }
        say(TextTable.render(rows))
    }

    static func selfTest(_ r: JSON) {
        var rows = [["CHECK", "RESULT", "LATENCY", "DETAIL"]]
        for d in r["devices"]?.array ?? [] {
            rows.append([
                d["id"]?.string ?? "?", d["ok"]?.bool == true ? "ok" : "FAIL",
                "\(PointValue.format(d["latency_ms"]?.number ?? 0)) ms", d["error"]?.string ?? "",
            ])
        }
        rows.append(["storage", r["storage_ok"]?.bool == true ? "ok" : "FAIL", "", r["storage_error"]?.string ?? ""])
        rows.append(["clock", r["clock_ok"]?.bool == true ? "ok" : "FAIL", "", r["clock"]?.string ?? ""])
        say(TextTable.render(rows))
        say(r["ok"]?.bool == true ? "everything is fine" : "something needs attention")
    }

    static func event(_ e: JSON) {
        let at = e["at"]?.string ?? ""
        switch e["kind"]?.string {
        case "snapshot":
            say("\(at) current state:")
            say(deviceTable(e["devices"]?.array ?? []))
        case "device_state":
            say(
                "\(at) \(e["device"]?.string ?? "?"): \(e["from"]?.string ?? "?") → \(state(e["to"]?.string ?? "?")) (\(e["cause"]?.string ?? ""))"
            )
        case "maintenance":
            say(
                "\(at) \(e["device"]?.string ?? "?"): maintenance \(e["to"]?.string ?? "?") \(e["cause"]?.string ?? "")"
            )
        default:
            say("\(at) \(e.text)")
        }
    }
}

/// Writes a line to stdout unbuffered, so `watch` output reaches a pipe at once.
func say(_ text: String = "") {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
