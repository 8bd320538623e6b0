import ArgumentParser
import Foundation
import WaystationControl
import WaystationCore

struct CheckIn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkin", abstract: "Check a rider in (the id is pseudonymised by the daemon, never stored).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The rider's card or phone number.") var worker: String
    @Option(name: .long, help: "courier, food_delivery, ride_hailing, other (or as configured).") var category: String
    @Option(name: .long, help: "Where the check-in came from (kiosk, qr …).") var source: String?

    func run() throws {
        let r = try global.call(
            "CheckIn", ["worker": .string(worker), "category": .string(category), "source": .optional(source)])
        global.emit(r) {
            let v = r["visit"] ?? [:]
            let again = r["already_inside"]?.bool == true ? " (already inside: same visit)" : ""
            say("checked in: visit \(Int(v["id"]?.number ?? 0))\(again)")
            var line = "occupancy \(Int(r["occupancy"]?.number ?? 0))/\(Int(r["capacity"]?.number ?? 0))"
            if r["full"]?.bool == true { line += " — station full" }
            say(line)
        }
    }
}

struct CheckOut: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkout", abstract: "Check a rider out.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The rider's card or phone number.") var worker: String

    func run() throws {
        let r = try global.call("CheckOut", ["worker": .string(worker)])
        global.emit(r) {
            let v = r["visit"] ?? [:]
            say("checked out: visit \(Int(v["id"]?.number ?? 0)); occupancy \(Int(r["occupancy"]?.number ?? 0))")
        }
    }
}

struct Visits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List visits, or export them as CSV for the district.",
        subcommands: [List.self, Export.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Visits that started in a period.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "From (ISO 8601 date or date-time, station time).") var since: String?
        @Option(name: .long, help: "Until (exclusive).") var until: String?
        @Flag(name: .long, help: "Only riders inside now.") var active = false

        func run() throws {
            let r = try global.call(
                "ListVisits", ["since": .optional(since), "until": .optional(until), "active": .bool(active)])
            global.emit(r) {
                var rows = [["ID", "RIDER", "CATEGORY", "IN", "OUT", "CLOSED BY"]]
                for v in r["visits"]?.array ?? [] {
                    rows.append([
                        "\(Int(v["id"]?.number ?? 0))", String((v["worker"]?.string ?? "").prefix(12)),
                        v["category"]?.string ?? "", v["checked_in"]?.string ?? "",
                        v["checked_out"]?.string ?? "inside",
                        v["closed_by"]?.string ?? "",
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
        @Option(name: .long, help: "From (ISO 8601 date or date-time).") var from: String
        @Option(name: .long, help: "To (exclusive).") var to: String
        @Option(name: .shortAndLong, help: "Write to this file instead of stdout.") var output: String?

        func run() throws {
            let r = try global.call("ListVisits", ["since": .string(from), "until": .string(to)])
            var csv = "id,rider,category,source,checked_in,checked_out,closed_by\n"
            for v in r["visits"]?.array ?? [] {
                let fields = [
                    "\(Int(v["id"]?.number ?? 0))", v["worker"]?.string ?? "", v["category"]?.string ?? "",
                    v["source"]?.string ?? "", v["checked_in"]?.string ?? "", v["checked_out"]?.string ?? "",
                    v["closed_by"]?.string ?? "",
                ]
                csv += fields.map(Self.field).joined(separator: ",") + "\n"
            }
            if let output {
                try csv.write(toFile: output, atomically: true, encoding: .utf8)
            } else {
                FileHandle.standardOutput.write(Data(csv.utf8))
            }
        }

        static func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"\(s.replacingOccurrences(of: "\"", with: "\"\""))\"" : s
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Visit figures for a period: by category and hour, unique riders, stays, peak occupancy.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "From (ISO 8601 date or date-time).") var from: String
    @Option(name: .long, help: "To (exclusive).") var to: String

    func run() throws {
        let r = try global.call("VisitStats", ["from": .string(from), "to": .string(to)])
        global.emit(r) {
            let s = r["stats"] ?? [:]
            say("\(s["from"]?.string ?? "") – \(s["to"]?.string ?? "")")
            say(
                "visits \(Int(s["visits"]?.number ?? 0)), unique riders \(Int(s["unique_riders"]?.number ?? 0)), peak occupancy \(Int(s["peak_occupancy"]?.number ?? 0))"
            )
            let mean = s["mean_stay"]?.number.map { Output.duration($0) } ?? "-"
            let median = s["median_stay"]?.number.map { Output.duration($0) } ?? "-"
            say("stay: mean \(mean), median \(median)")
            var rows = [["CATEGORY", "VISITS"]]
            for c in s["by_category"]?.array ?? [] {
                rows.append([c["category"]?.string ?? "", "\(Int(c["count"]?.number ?? 0))"])
            }
            say(TextTable.render(rows))
            let hours = (s["by_hour"]?.array ?? []).enumerated().filter { ($0.element.number ?? 0) > 0 }
            say("by hour: " + hours.map { "\($0.offset):00 \(Int($0.element.number ?? 0))" }.joined(separator: ", "))
        }
    }
}
