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
            abstract: "Redeem a rider's district points for a gift, at the district hub (admin; needs the link).",
            discussion: """
                The rider's id is read from stdin or --id-file, like checkin. The daemon gives the rider's \
                district pseudonym (known once the rider has scanned at the kiosk while the link was up) \
                and waystation-uplink redeem asks the hub, which keeps the balance: it never goes below \
                zero and points are never spent twice at two stations. When the hub is away nothing is \
                redeemed (exit 69). The same --key twice redeems once.
                """)
        @OptionGroup var global: GlobalOptions
        @OptionGroup var rider: RiderID
        @Argument(help: "Points to redeem.") var points: Int
        @Argument(help: "The gift.") var gift: String
        @Option(help: "Idempotency key (default: a new one, printed if the hub does not confirm).") var key: String?

        func run() throws {
            // Enrolled at all? (Asked first: no card to scan for nothing.)
            var enrolled = false
            var quiet = global
            quiet.json = false
            try quiet.run(DistrictStatus.self) { enrolled = $0.enrolled }
            guard enrolled else {
                Output.error(
                    "redeeming points needs the district link: the balance is kept at the district hub, and this station has no [district] (it is not enrolled)"
                )
                throw ExitCode(69)
            }
            let id = try rider.read()
            var link: DistrictRider.Reply?
            try global.run(DistrictRider.self, .init(worker: id)) { link = $0 }
            guard let link else { return }  // --json printed the reply
            guard let district = link.district else {
                Output.error(
                    "the district does not know this rider yet: redeeming needs their district identity, which the hub gives after their first scan at this station's kiosk while the link is up"
                )
                throw ExitCode(1)
            }
            let key = self.key ?? "\(link.station)-ctl-\(UInt64.random(in: 0...UInt64.max))"
            let who = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"]
            let by = "\(link.station) admin \(who ?? "uid \(getuid())")"
            let status = try Uplink.run(
                [
                    "redeem", "--url", link.url, "--station", link.station, "--token-file", link.tokenFile,
                    "--ca-file", link.caFile, "--points", "\(points)", "--gift", gift, "--key", key, "--by", by,
                ], stdin: district + "\n")
            if status != 0 { throw ExitCode(status) }
        }
    }
}
