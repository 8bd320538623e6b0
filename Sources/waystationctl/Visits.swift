import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import WaystationProtocol

/// The rider's id, read from a file or stdin (first line): never from the command line, where every
/// local user could read it in /proc.
struct RiderID: ParsableArguments {
    @Option(
        name: .customLong("id-file"), help: "Read the rider's id from this file (default: the first line of stdin).")
    var file: String?

    func read() throws -> String {
        let text: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --id-file \(file)")
            }
            text = String(decoding: data, as: UTF8.self)
        } else {
            if isatty(0) == 1 { SystemIO.writeError("rider id: ") }
            text = readLine(strippingNewline: true) ?? ""
        }
        let id = (text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "")
            .trimmingWhitespaceAndNewlines()
        guard !id.isEmpty else { throw ValidationError("no rider id on stdin (or in --id-file)") }
        return id
    }
}

struct CheckInCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin",
        abstract: "Check a rider in (the id is read from stdin or --id-file, and pseudonymised by the daemon).",
        discussion: "Example: printf '%s\\n' \"$CARD\" | waystationctl checkin --category courier")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var rider: RiderID
    @Option(name: .long, help: "courier, food_delivery, ride_hailing, other (or as configured).") var category: String
    @Option(name: .long, help: "Where the check-in came from (kiosk, qr …).") var source: String?

    func run() throws {
        let worker = try rider.read()
        try global.run(CheckIn.self, .init(worker: worker, category: category, source: source)) { r in
            let again = r.alreadyInside ? " (already inside: same visit)" : ""
            say("checked in: visit \(r.visit.id)\(again)")
            say("occupancy \(r.occupancy)/\(r.capacity)" + (r.full ? " — station full" : ""))
        }
    }
}

struct CheckOutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout", abstract: "Check a rider out (the id is read from stdin or --id-file).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var rider: RiderID

    func run() throws {
        let worker = try rider.read()
        try global.run(CheckOut.self, .init(worker: worker)) { r in
            say("checked out: visit \(r.visit.id); occupancy \(r.occupancy)")
        }
    }
}

struct VisitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visits",
        abstract: "List visits, or export them as CSV for the district.",
        subcommands: [List.self, Export.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Visits that started in a period.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "From (ISO 8601 date or date-time, station time).") var since: String?
        @Option(name: .long, help: "Until (exclusive).") var until: String?
        @Flag(name: .long, help: "Only riders inside now.") var active = false

        func run() throws {
            try global.run(ListVisits.self, .init(since: since, until: until, active: active)) { r in
                var rows = [["ID", "RIDER", "CATEGORY", "IN", "OUT", "CLOSED BY"]]
                for v in r.visits {
                    rows.append([
                        "\(v.id)", String(v.worker.prefix(12)).terminalSafe, v.category.terminalSafe, v.checkedIn,
                        v.checkedOut ?? "inside", (v.closedBy ?? "").terminalSafe,
                    ])
                }
                say(TextTable.render(rows))
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write visits as CSV (pseudonymous rider ids) for the district.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var export: ExportOptions

        func run() throws {
            var rows: [[String]] = []
            try export.fetch(ListVisits.self, .init(since: export.from, until: export.to), global) { r in
                for v in r.visits {
                    rows.append([
                        "\(v.id)", v.worker, v.category, v.source ?? "", v.checkedIn, v.checkedOut ?? "",
                        v.closedBy ?? "",
                    ])
                }
            }
            try Output.csv(
                header: ["id", "rider", "category", "source", "checked_in", "checked_out", "closed_by"],
                rows: rows, to: export.output)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Visit figures for a period: by category and hour, unique riders, stays, peak occupancy.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "From (ISO 8601 date or date-time).") var from: String
    @Option(name: .long, help: "To (exclusive).") var to: String

    func run() throws {
        try global.run(GetVisitStats.self, .init(from: from, to: to)) { r in
            let s = r.stats
            say("\(s.from) – \(s.to)")
            say("visits \(s.visits), unique riders \(s.uniqueRiders), peak occupancy \(s.peakOccupancy)")
            let mean = s.meanStay.map { Output.duration($0) } ?? "-"
            let median = s.medianStay.map { Output.duration($0) } ?? "-"
            say("stay: mean \(mean), median \(median)")
            var rows = [["CATEGORY", "VISITS"]]
            for c in s.byCategory { rows.append([c.category, "\(c.count)"]) }
            say(TextTable.render(rows))
            let hours = s.byHour.enumerated().filter { $0.element > 0 }
            say("by hour: " + hours.map { "\($0.offset):00 \($0.element)" }.joined(separator: ", "))
        }
    }
}
