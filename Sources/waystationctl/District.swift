import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationProtocol

struct DistrictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "district",
        abstract: "The district link: enrolled or not, last sync, cursor, what waits to go up (admin).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(DistrictStatus.self) { s in
            guard s.enrolled else {
                say("not enrolled: this station has no [district] in its config (it works on its own)")
                return
            }
            let rows: [[String]] = [
                ["station", (s.station ?? "-").terminalSafe],
                ["hub", (s.url ?? "-").terminalSafe],
                ["last sync", s.lastSync ?? "never"],
                ["cursor", (s.cursor ?? "-").terminalSafe],
                ["look-ups waiting", "\(s.lookups)"],
                ["reports waiting", "\(s.reports) (\(s.reportsWithoutRider) until their rider is known to the hub)"],
                ["riders known", "\(s.riders)"],
                ["district categories", "\(s.categories)"],
                ["notices", "\(s.notices)"],
            ]
            say(TextTable.render(rows))
        }
    }
}

struct RidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "riders", abstract: "Riders' district points (needs the district link).",
        subcommands: [Redeem.self])

    struct Redeem: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Redeem a rider's district points for a gift (needs the district link; not yet available).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Points to redeem.") var points: Int
        @Argument(help: "The gift.") var gift: String

        func run() throws {
            // Redeeming must be checked against the district's ledger (never below zero, never twice at
            // two stations), so the station cannot do it alone; the uplink will carry it to the hub.
            Output.error(
                "redeeming points needs the district link: the balance is kept at the district hub, and this waystationctl cannot reach it yet; record the gift at the district desk (waystation-district riders redeem)"
            )
            throw ExitCode(69)
        }
    }
}
