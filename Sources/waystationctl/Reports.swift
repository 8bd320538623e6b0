import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationProtocol

struct ReportsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Hazard reports riders filed at the kiosk (admin), or export them as CSV for the district.",
        subcommands: [List.self, Export.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reports, newest first.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "pending, verified or rejected.") var status: String?
        @Option(name: .long, help: "At most this many.") var limit: Int?

        func validate() throws {
            if let status, !["pending", "verified", "rejected"].contains(status) {
                throw ValidationError("--status must be pending, verified or rejected, got \"\(status)\"")
            }
        }

        func run() throws {
            // Category names as the kiosk shows them (the reports carry the ids).
            var names: [String: String] = [:]
            if let client = try? VarlinkClient(path: global.socketPath),
                let raw = try? client.call(GetKioskStatus.qualifiedName),
                let status = try? VarlinkClient.decode(GetKioskStatus.Reply.self, raw)
            {
                for c in status.kiosk.hazardCategories {
                    names[c.id] = c.nameEn.map { "\(c.name) (\($0))" } ?? c.name
                }
            }
            try global.run(ListReports.self, .init(status: status, limit: limit)) { r in
                var rows = [
                    ["ID", "CREATED", "CATEGORY", "LOCATION", "STATUS", "POINTS", "RIDER", "JUDGED BY", "NOTE"]
                ]
                for x in r.reports {
                    var note = x.note ?? ""
                    if let judge = x.judgeNote, !judge.isEmpty {
                        note += (note.isEmpty ? "" : " / ") + "judge: \(judge)"
                    }
                    rows.append([
                        "\(x.id)", String(x.createdAt.prefix(16)).replacingAll("T", with: " "),
                        (names[x.category] ?? x.category).terminalSafe, x.location.terminalSafe,
                        x.status + (x.duplicateOf.map { " (duplicate of \($0))" } ?? ""), "\(x.points)",
                        String((x.reporter ?? "").prefix(12)).terminalSafe, (x.judgedBy ?? "-").terminalSafe,
                        note.terminalSafe,
                    ])
                }
                say(rows.count == 1 ? "no reports" : TextTable.render(rows))
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write reports as CSV (pseudonymous reporter, category, time, outcome) for the district.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var export: ExportOptions

        func run() throws {
            var rows: [[String]] = []
            try export.fetch(ListReports.self, .init(since: export.from, until: export.to), global) { r in
                for x in r.reports.reversed() {
                    rows.append([
                        "\(x.id)", x.reporter ?? "", x.category, x.createdAt, x.status,
                        x.status == "verified" ? "\(x.points)" : "0", x.judgedAt ?? "", x.location,
                    ])
                }
            }
            try Output.csv(
                header: ["id", "reporter", "category", "created_at", "outcome", "points", "judged_at", "location"],
                rows: rows, to: export.output)
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Verify (credits the rider's points) or reject a hazard report (admin).",
        subcommands: [Verify.self, Reject.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify a pending report.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Report id.") var id: Int
        @Option(name: .long, help: "Why (kept with the report and in the audit log).") var note: String?

        func run() throws { try ReportCommand.judge(global, id, "verified", note) }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a pending report.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Report id.") var id: Int
        @Option(name: .long, help: "Why (kept with the report and in the audit log).") var note: String?

        func run() throws { try ReportCommand.judge(global, id, "rejected", note) }
    }

    static func judge(_ global: GlobalOptions, _ id: Int, _ verdict: String, _ note: String?) throws {
        try global.run(JudgeReport.self, .init(id: id, verdict: verdict, note: note)) { r in
            let x = r.report
            let credit = x.status == "verified" ? "; \(x.points) points credited" : ""
            say("report \(x.id) \(x.status)\(credit)")
        }
    }
}
