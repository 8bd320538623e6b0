import Foundation

extension Bench {
    /// One goal of issue 15: the figure, how it is shown, and the bound it must meet.
    struct Goal {
        var title: String
        var key: String
        var unit: String
        var scale: Double
        var bound: Double
        var atMost: Bool
    }

    static let goalList: [Goal] = [
        Goal(
            title: "anonymous memory, 3-device station", key: "daemon_anon_mib", unit: "MiB", scale: 1, bound: 4,
            atMost: true),
        Goal(title: "PSS, 3-device station", key: "daemon_pss_mib", unit: "MiB", scale: 1, bound: 12, atMost: true),
        Goal(
            title: "web idle wake-ups, 2 pages open", key: "web_wakeups_per_s", unit: "/s", scale: 1, bound: 1,
            atMost: true),
        Goal(
            title: "flash bytes/day, 3-device station", key: "daemon_bytes_per_day", unit: "MiB",
            scale: 1.0 / 1_048_576, bound: 6, atMost: true),
        Goal(
            title: "flash bytes/day, 600-point engine", key: "db_bytes_per_day", unit: "MB", scale: 1e-6, bound: 30,
            atMost: true),
        Goal(
            title: "CPU per request vs collectd", key: "daemon_cpu_per_request_ratio_vs_collectd", unit: "×", scale: 1,
            bound: 1, atMost: true),
        Goal(
            title: "  same, in instructions (callgrind)", key: "daemon_instructions_per_request_ratio_vs_collectd",
            unit: "×", scale: 1, bound: 1, atMost: true),
        Goal(
            title: "reads vs raw libmodbus", key: "reads_ratio_vs_raw", unit: "×", scale: 1, bound: 0.9, atMost: false),
    ]

    /// The goals of issue 15 beside this run's figures.
    static func goals(_ results: [String: Double]) -> String {
        var lines = ["\ngoals (issue 15)                      this run          goal      "]
        for goal in goalList {
            let title = goal.title.padding(toLength: 36, withPad: " ", startingAt: 0)
            guard let value = results[goal.key] else {
                lines.append("  \(title)  not measured")
                continue
            }
            let shown = value * goal.scale
            let met = goal.atMost ? shown <= goal.bound : shown >= goal.bound
            let figure = (String(format: "%10.2f ", shown) + goal.unit).padding(
                toLength: 16, withPad: " ", startingAt: 0)
            let bound = (goal.atMost ? "≤ " : "≥ ") + String(format: "%g ", goal.bound) + goal.unit
            lines.append(
                "  \(title)  \(figure)  \(bound.padding(toLength: 10, withPad: " ", startingAt: 0))  \(met ? "met" : "MISSED")"
            )
        }
        // Not goals of the issue; beside the per-request figure because reads are merged (one request
        // carries several values; collectd makes one per value).
        for (title, key) in [
            ("CPU per station vs collectd", "daemon_cpu_ratio_vs_collectd"),
            ("CPU per value read vs collectd", "daemon_cpu_per_value_ratio_vs_collectd"),
        ] {
            guard let value = results[key] else { continue }
            let padded = title.padding(toLength: 36, withPad: " ", startingAt: 0)
            lines.append("  \(padded)  " + String(format: "%10.2f ×", value) + "      (for comparison, not a goal)")
        }
        return lines.joined(separator: "\n")
    }
}
