import ArgumentParser
import WaystationProtocol

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "A point's history: min, avg and max per step, with a chart.",
        discussion: """
            Times are the station's local time. The last minutes, not yet written to storage, are included.
            Examples: waystationctl history fridge cabinet_temp --since 6h
                      waystationctl history meter power --from 2026-12-01 --to 2026-12-02 --step 1h --csv
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Point name.") var point: String
    @Option(name: .long, help: "How far back (e.g. 30m, 6h, 2d; default 1h).") var since: String?
    @Option(name: .long, help: "Start: ISO 8601, or a local date (2026-12-01) or time (2026-12-01T08:00).")
    var from: String?
    @Option(name: .long, help: "End (default now), as --from.") var to: String?
    @Option(name: .long, help: "Step (e.g. 1m, 10m, 1h; default: about 60 steps).") var step: String?
    @Flag(name: .long, help: "Write CSV (time with offset, min, avg, max, count).") var csv = false

    func validate() throws {
        if since != nil, from != nil { throw ValidationError("give --since or --from, not both") }
        for (name, text) in [("--since", since), ("--step", step)] {
            if let text, DurationParser.parse(text) == nil {
                throw ValidationError("\(name) \"\(text)\" is not a duration such as 30m, 6h or 2d")
            }
        }
    }

    func run() throws {
        let p = GetHistory.Parameters(device: device, point: point, since: since, from: from, to: to, step: step)
        try global.run(GetHistory.self, p) { r in
            if csv {
                try Output.csv(
                    header: ["time", "min", "avg", "max", "count"],
                    rows: r.steps.map { s in
                        [
                            s.at, s.min.map(ValueText.format) ?? "", s.avg.map(ValueText.format) ?? "",
                            s.max.map(ValueText.format) ?? "", String(s.count),
                        ]
                    }, to: nil)
            } else {
                say(HistoryChart.render(r))
            }
        }
    }
}

/// The history as a terminal shows it: a sparkline of the averages, then a row per step with a bar.
enum HistoryChart {
    static let spark: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let eighths: [Character] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"].map { $0.first ?? " " }
    static let barWidth = 30

    static func render(_ r: GetHistory.Reply) -> String {
        let unit = r.unit.map { " " + $0 } ?? ""
        var lines = [
            "\(r.device) \(r.point)\(unit.isEmpty ? "" : " (\(r.unit ?? ""))"), \(r.from) → \(r.to), step \(DurationParser.format(.seconds(r.step)))"
        ]
        let values = r.steps.compactMap(\.avg)
        guard let lo = r.steps.compactMap(\.min).min(), let hi = r.steps.compactMap(\.max).max(), !values.isEmpty else {
            lines.append("no readings in this time")
            return lines.joined(separator: "\n")
        }
        lines.append(
            String(r.steps.map { s in s.avg.map { spark[level($0, lo, hi, spark.count)] } ?? " " })
                + "  \(ValueText.format(lo))…\(ValueText.format(hi))\(unit)")
        let multiDay = r.steps.first.map { day($0.at) } != r.steps.last.map { day($0.at) }
        func time(_ at: String) -> String {
            multiDay ? String(at.dropFirst(5).prefix(11)).replacingAll("T", with: " ") : clock(at)
        }
        var rows = [["TIME", "MIN", "AVG", "MAX", ""]]
        var index = 0
        while index < r.steps.count {
            let s = r.steps[index]
            guard let mn = s.min, let av = s.avg, let mx = s.max else {
                // A run of steps without readings is one row.
                var end = index
                while end + 1 < r.steps.count, r.steps[end + 1].count == 0 { end += 1 }
                let span = end > index ? "\(time(s.at))–\(time(r.steps[end].at))" : time(s.at)
                rows.append([span, "-", "-", "-", end > index ? "no readings" : ""])
                index = end + 1
                continue
            }
            rows.append([time(s.at), ValueText.format(mn), ValueText.format(av), ValueText.format(mx), bar(av, lo, hi)])
            index += 1
        }
        lines += TextTable.render(rows).split(separator: "\n").map { line in
            var l = Substring(line)
            while l.last == " " { l.removeLast() }
            return String(l)
        }
        return lines.joined(separator: "\n")
    }

    /// 0..<levels for v in lo…hi.
    static func level(_ v: Double, _ lo: Double, _ hi: Double, _ levels: Int) -> Int {
        guard hi > lo else { return levels / 2 }
        return min(levels - 1, max(0, Int((v - lo) / (hi - lo) * Double(levels - 1) + 0.5)))
    }

    /// A bar from lo (one eighth) to hi (full width), in eighths of a cell.
    static func bar(_ v: Double, _ lo: Double, _ hi: Double) -> String {
        let eights = 1 + level(v, lo, hi, barWidth * 8)
        return String(repeating: "█", count: eights / 8) + (eights % 8 == 0 ? "" : String(eighths[eights % 8]))
    }

    /// `2026-12-07` of an ISO 8601 time.
    static func day(_ iso: String) -> Substring { iso.prefix(10) }

    /// `05:41` of an ISO 8601 time.
    static func clock(_ iso: String) -> String { String(iso.dropFirst(11).prefix(5)) }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Device state changes and interlock, maintenance and slot actions, newest first.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this device.") var device: String?
    @Option(name: .long, help: "Since (a duration such as 6h, or an ISO 8601 time).") var since: String?
    @Option(name: .long, help: "How many.") var limit = 50

    func run() throws {
        try global.run(ListEvents.self, .init(device: device, since: since, limit: limit)) { r in
            var rows = [["TIME", "DEVICE", "WHAT", "CHANGE", "WHY"]]
            for e in r.events {
                let what = e.slot.map { "\(e.kind) \($0)" } ?? e.kind
                rows.append([
                    String(e.at.prefix(19)).replacingAll("T", with: " "), e.device ?? "-", what,
                    "\(e.from ?? "-") → \(e.to ?? "-")", e.detail ?? "",
                ])
            }
            say(rows.count == 1 ? "no events" : TextTable.render(rows))
        }
    }
}
