import ArgumentParser
import Foundation
import WaystationDistrict
import WaystationLink

struct Stations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enrol, revoke and list stations.", subcommands: [Add.self, Revoke.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a station and write its token, the hub CA and key, and district.toml to --out.")
        @OptionGroup var global: Global
        @Argument(help: "The station id (as in its [station] id).") var id: String
        @Option(help: "The station's name.") var name: String
        @Option(help: "Where the station stands.") var address: String
        @Option(help: "The folder for the station's files (made 0700).") var out: String
        @Option(help: "The hub URL stations dial (default: https:// and [sync] or [web] listen).") var url: String?

        func run() async throws {
            let config = try global.load()
            let keys = try global.keys(config)
            let listen = config.sync ?? config.web
            let url = self.url ?? "https://\(listen)"
            let files = try await global.withStore(config) { store in
                try await Enrolment.enrol(
                    id: id, name: name, address: address, out: out, url: url, config: config, keys: keys,
                    store: store)
            }
            print("enrolled \(id); its files are in \(files.dir) (token, hub-ca.pem, hub-rider.pub, district.toml)")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cut a station off: its token answers 401 at once.")
        @OptionGroup var global: Global
        @Argument var id: String

        func run() async throws {
            let config = try global.load()
            let found = try await global.withStore(config) { store in try await store.revokeStation(id) }
            guard found else { global.fail("no station \(id)") }
            print("revoked \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The enrolled stations.")
        @OptionGroup var global: Global

        func run() async throws {
            let config = try global.load()
            let stations = try await global.withStore(config) { store in try await store.stations() }
            for s in stations {
                let state = s.revoked ? "revoked" : "active"
                print("\(s.id)\t\(state)\t\(s.lastSeen ?? "never seen")\t\(s.software ?? "-")\t\(s.name)\t\(s.address)")
            }
        }
    }
}

struct Reports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The district's hazard reports.",
        subcommands: [List.self, Verify.self, Reject.self, Dispatch.self, Fixed.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reports, oldest first.")
        @OptionGroup var global: Global
        @Option(help: "pending, verified or rejected.") var status: String?

        func run() async throws {
            if let status, !["pending", "verified", "rejected"].contains(status) {
                throw ValidationError("--status must be pending, verified or rejected")
            }
            let config = try global.load()
            let rows = try await global.withStore(config) { store in try await store.reports(status: status) }
            for r in rows {
                let flag = r.categoryKnown ? "" : " (unknown category)"
                print(
                    "\(r.id)\t\(r.status)\t\(r.station)#\(r.stationReport)\t\(r.created)\t\(r.category)\(flag)\t"
                        + "\(r.location)\t\(r.note ?? "")")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a pending report: its category's points go to the rider, once.")
        @OptionGroup var global: Global
        @Argument(help: "The hub's report id (reports list).") var id: Int
        @Option var note: String?
        @Option(help: "Who judged it.") var by = ProcessInfo.processInfo.environment["USER"] ?? "staff"

        func run() async throws {
            let config = try global.load()
            let points = try await global.withStore(config) { store in
                try await store.verify(report: id, note: note, by: by)
            }
            print("report \(id) verified (\(points) points)")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a pending report.")
        @OptionGroup var global: Global
        @Argument var id: Int
        @Option var note: String?
        @Option var by = ProcessInfo.processInfo.environment["USER"] ?? "staff"

        func run() async throws {
            let config = try global.load()
            try await global.withStore(config) { store in try await store.reject(report: id, note: note, by: by) }
            print("report \(id) rejected")
        }
    }

    struct Dispatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a verified report to a department ([[department]] id) to be fixed.")
        @OptionGroup var global: Global
        @Argument var id: Int
        @Option(help: "The department's id, e.g. city, power, community.") var department: String
        @Option var note: String?
        @Option var by = ProcessInfo.processInfo.environment["USER"] ?? "staff"

        func run() async throws {
            let config = try global.load()
            guard config.departments.contains(where: { $0.id == department }) else {
                throw ValidationError(
                    "--department must be one of \(config.departments.map(\.id).joined(separator: ", "))")
            }
            try await global.withStore(config) { store in
                try await store.dispatch(report: id, department: department, note: note, by: by)
                try await store.audit(
                    staff: "cli", address: nil, action: "report.dispatch", target: "\(id)", detail: department)
            }
            print("report \(id) dispatched to \(department)")
        }
    }

    struct Fixed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a dispatched report fixed.")
        @OptionGroup var global: Global
        @Argument var id: Int
        @Option var note: String?
        @Option var by = ProcessInfo.processInfo.environment["USER"] ?? "staff"

        func run() async throws {
            let config = try global.load()
            try await global.withStore(config) { store in
                try await store.fixed(report: id, note: note, by: by)
                try await store.audit(staff: "cli", address: nil, action: "report.fixed", target: "\(id)", detail: note)
            }
            print("report \(id) fixed")
        }
    }
}

struct Notices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Notices for kiosks.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a notice to every station or some.")
        @OptionGroup var global: Global
        @Option var title: String
        @Option var titleZh: String?
        @Option var body: String?
        @Option var bodyZh: String?
        @Option(help: "RFC 3339 start, e.g. 2026-12-08T09:00:00+08:00.") var from: String
        @Option(help: "RFC 3339 end.") var until: String
        @Option(help: "Comma-separated station ids (default: every station).") var stations: String?

        func run() async throws {
            let config = try global.load()
            let ids = stations.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            let id = try await global.withStore(config) { store in
                try await store.addNotice(
                    title: title, titleZh: titleZh, body: body, bodyZh: bodyZh, from: from, until: until, stations: ids)
            }
            print("notice \(id) published")
        }
    }
}

struct Services: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Services partners offer at stations (kiosks show them).", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or replace a service (the same id again replaces it; --withdraw takes it off the kiosks).")
        @OptionGroup var global: Global
        @Argument(help: "The service's id, e.g. legal-aid.") var id: String
        @Option var name: String
        @Option var nameZh: String?
        @Option var description: String?
        @Option var descriptionZh: String?
        @Option(help: "Comma-separated days: mon,tue,wed,thu,fri,sat,sun (default: every day).") var days: String?
        @Option(help: "Hours, HH:MM-HH:MM (default: all day).") var hours: String?
        @Option(help: "Comma-separated station ids (default: every station).") var stations: String?
        @Flag(help: "Take it off the kiosks.") var withdraw = false

        func run() async throws {
            let week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            let dayList = days.map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            }
            if let bad = dayList?.first(where: { !week.contains($0) }) {
                throw ValidationError("--days: \"\(bad)\" is not one of \(week.joined(separator: ", "))")
            }
            if let hours, !Self.validHours(hours) {
                throw ValidationError("--hours: expected HH:MM-HH:MM, e.g. 14:00-17:00, got \"\(hours)\"")
            }
            let config = try global.load()
            let ids = stations.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            let service = DistrictService(
                id: id, name: name, nameZh: nameZh, description: description, descriptionZh: descriptionZh,
                days: dayList, hours: hours, withdrawn: withdraw)
            try await global.withStore(config) { store in try await store.putService(service, stations: ids) }
            print(withdraw ? "service \(id) withdrawn" : "service \(id) published")
        }

        static func validHours(_ text: String) -> Bool {
            let parts = text.split(separator: "-")
            guard parts.count == 2 else { return false }
            return parts.allSatisfy { p in
                let hm = p.split(separator: ":")
                guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]) else { return false }
                return (0...24).contains(h) && (0...59).contains(m) && hm[1].count == 2
            }
        }
    }
}

struct Riders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Riders' district points (by district pseudonym).", subcommands: [Balance.self, Redeem.self])

    struct Balance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A rider's balance and latest entries.")
        @OptionGroup var global: Global
        @Argument var rider: String

        func run() async throws {
            let config = try global.load()
            let b = try await global.withStore(config) { store in try await store.balance(rider: rider) }
            print("balance \(b.balance)")
            for line in b.recent { print("\(line.at)\t\(line.points)\t\(line.why)") }
        }
    }

    struct Redeem: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Spend a rider's points on a gift, at the hub.")
        @OptionGroup var global: Global
        @Argument var rider: String
        @Option var points: Int
        @Option var gift: String
        @Option(help: "Idempotency key: the same key twice spends once.") var key: String
        @Option var by = ProcessInfo.processInfo.environment["USER"] ?? "staff"

        func run() async throws {
            let config = try global.load()
            let request = RedeemRequest(rider: rider, points: points, gift: gift, key: key, by: by)
            let balance = try await global.withStore(config) { store in try await store.redeem(station: nil, request) }
            print("redeemed; balance \(balance)")
        }
    }
}
