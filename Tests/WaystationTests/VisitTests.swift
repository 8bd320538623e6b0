import Foundation
import WaystationStorage
import TestSupport
import Testing
import WaystationControl
import WaystationCore
import WaystationPolling
import WaystationVisits

/// Check-ins through the real daemon socket, privacy, durability and statistics.
@Suite("Check-ins", .serialized)
struct VisitTests {
    static let iface = "io.waystation.Station"
    static let visitsConfig = """
        [visits]
        max_stay = "2s"

        """

    final class Running: @unchecked Sendable {
        // @unchecked: set once in init (daemon is replaced only by restart(), from the test's task).
        let station: TestStation
        var daemon: DaemonProcess
        var socket: String { station.dir + "/control.sock" }

        init(extra: String = VisitTests.visitsConfig) async throws {
            station = try TestStation(tcpUnits: [1], extraConfig: extra)
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        }

        func restart() async throws {
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            let d = daemon
            try await d.waitFor("READY=1 after restart") { d.count("READY=1") >= 1 }
        }

        func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
            try VarlinkClient(path: socket).call("\(VisitTests.iface).\(method)", parameters)
        }

        func error(_ method: String, _ parameters: JSON) -> (String, JSON)? {
            do {
                _ = try call(method, parameters)
                return nil
            } catch VarlinkClient.Failure.reply(let failure) {
                let (e, p) = (failure.name, failure.parameters)
                return (e, p)
            } catch {
                return ("\(error)", [:])
            }
        }
    }

    @Test("check-in rules: idempotent, NotCheckedIn, unknown category, station full never refuses, auto close")
    func rules() async throws {
        let r = try await Running(extra: "[visits]\nmax_stay = \"1h\"\n")
        let first = try r.call("CheckIn", ["worker": "CARD-0001", "category": "courier", "source": "kiosk"])
        let again = try r.call("CheckIn", ["worker": "CARD-0001", "category": "courier"])
        #expect(again["already_inside"]?.bool == true)
        #expect(again["visit"]?["id"] == first["visit"]?["id"])
        #expect(again["occupancy"]?.number == 1)

        let unknown = r.error("CheckIn", ["worker": "CARD-0002", "category": "astronaut"])
        #expect(unknown?.0 == "\(Self.iface).UnknownCategory")
        #expect(unknown?.1["known"]?.array?.contains("food_delivery") == true)

        let notIn = r.error("CheckOut", ["worker": "CARD-0404"])
        #expect(notIn?.0 == "\(Self.iface).NotCheckedIn")
        // Neither the raw id nor its pseudonym: a local user cannot turn a phone number into the
        // pseudonym the visit lists use.
        #expect(notIn?.1 == [:])

        // Capacity is 4: the fifth rider is let in and the station reports full.
        for i in 2...5 {
            let r5 = try r.call("CheckIn", ["worker": .string("CARD-000\(i)"), "category": "food_delivery"])
            #expect(r5["full"]?.bool == (i == 5))
        }
        #expect(try r.call("GetStatus")["occupancy"]?.number == 5)
        let out = try r.call("CheckOut", ["worker": "CARD-0001"])
        #expect(out["visit"]?["closed_by"]?.string == "rider")
        #expect(out["occupancy"]?.number == 4)
        #expect(try r.call("ListVisits", ["active": true])["visits"]?.array?.count == 4)
        #expect(r.daemon.log.contains("station full"))
    }

    /// A kiosk desk on a real database file, in process, with a clock the test moves.
    final class Desk: @unchecked Sendable {
        // @unchecked: `time` is only moved by the test's own task, between scans.
        final class Clock: @unchecked Sendable {
            var time = Date(timeIntervalSince1970: 1_800_000_000)
        }
        let dir: String
        let database: StationDatabase
        let desk: KioskDesk
        let clock = Clock()

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-desk-\(UUID())").path
            var config = try EngineFixture.config()
            config.visits.secretPath = dir + "/visit-secret"
            database = try openDatabase(dir + "/station.db")
            let visits = try VisitBook(
                store: VisitStore(database: database), config: config, logger: testLogger,
                station: PollingEngineTests.station)
            desk = KioskDesk(
                config: config, visits: visits, reports: HazardReportStore(database: database), logger: testLogger,
                now: { [clock] in clock.time })
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        /// Scans `id` a minute after the last scan (past any rate limit): "action commits", the write
        /// transactions the scan committed.
        func scan(_ id: String) async throws -> String {
            clock.time += 60
            let before = database.health.status.commits
            let r = try await desk.scan(worker: id, category: "courier")
            return "\(r.action.rawValue) \(database.health.status.commits - before)"
        }
    }

    @Test("one rider however the id is typed (case, spaces, - _ .); each scan is one transaction")
    func normalisedRiderOneTransaction() async throws {
        let d = try Desk()
        // Check-in: decided and written in one durable transaction (not a check-out attempt, then a
        // check-in, which a kill between the two could split).
        #expect(try await d.scan("ALTC-1") == "checked_in 1")
        #expect(try await d.scan("altc1") == "checked_out 1", "the same rider, typed in lower case")
        #expect(try await d.scan(" Altc 1 ") == "checked_in 1")
        #expect(try await d.scan("a.l_t-c.1") == "checked_out 1")
        let visits = try await d.desk.visits.store.visits(since: nil, until: nil, activeOnly: false)
        #expect(visits.count == 2 && Set(visits.map(\.worker)).count == 1, "one rider, two visits")
        #expect(try await d.desk.visits.store.occupancy() == 0)
        // A different rider stays different; a bad id is refused by the one rule, with its words.
        #expect(try await d.scan("ALTC-2") == "checked_in 1")
        await #expect(
            throws: KioskDesk.Refusal.invalidID("the rider id may hold only letters, digits, spaces and + - _ .")
        ) {
            _ = try await d.scan("ALTC;1")
        }
    }

    @Test("a visit left open closes itself after the maximum stay and is marked automatic")
    func autoClose() async throws {
        let r = try await Running()
        _ = try r.call("CheckIn", ["worker": "CARD-LATE", "category": "other"])
        try await r.daemon.waitFor("auto close") {
            try r.call("ListVisits", ["active": true])["visits"]?.array?.isEmpty == true
        }
        let visit = try #require(try r.call("ListVisits")["visits"]?.array?.first)
        #expect(visit["closed_by"]?.string == "auto")
        let outText = try #require(visit["checked_out"]?.string)
        let inText = try #require(visit["checked_in"]?.string)
        let stay = try Date(outText, strategy: .iso8601).timeIntervalSince(try Date(inText, strategy: .iso8601))
        #expect(abs(stay - 2) <= 1)  // ISO timestamps carry whole seconds
    }

    @Test("visits older than the retention are deleted; recent ones stay")
    func retention() async throws {
        let station = try TestStation(tcpUnits: [1], extraConfig: "[visits]\nretention = \"720h\"\n")
        let store = VisitStore(database: try openDatabase(station.dir + "/station.db"))
        let now = Date()
        _ = try await store.checkIn(
            worker: "old", category: "courier", source: nil, at: now.addingTimeInterval(-40 * 86400))
        _ = try await store.checkOut(worker: "old", at: now.addingTimeInterval(-40 * 86400 + 600))
        _ = try await store.checkIn(
            worker: "recent", category: "courier", source: nil, at: now.addingTimeInterval(-5 * 86400))
        _ = try await store.checkOut(worker: "recent", at: now.addingTimeInterval(-5 * 86400 + 600))
        let daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        try await daemon.waitFor("old visit deleted") {
            let visits = try VarlinkClient(path: station.dir + "/control.sock").call("\(Self.iface).ListVisits")[
                "visits"]?.array
            return visits?.count == 1
        }
        let left = try VarlinkClient(path: station.dir + "/control.sock").call("\(Self.iface).ListVisits")["visits"]?
            .array
        #expect(left?.first?["worker"]?.string == "recent")
    }

    @Test("no raw rider id in the database, its WAL, or the daemon's log")
    func privacy() async throws {
        let r = try await Running(extra: "[visits]\nmax_stay = \"1h\"\n")
        let ids = (1...20).map { "PHONE+86-139-0000-\(String(format: "%04d", $0))" }
        for id in ids { _ = try r.call("CheckIn", ["worker": .string(id), "category": "ride_hailing"]) }
        for id in ids.prefix(10) { _ = try r.call("CheckOut", ["worker": .string(id)]) }
        _ = r.error("CheckOut", ["worker": .string(ids[0])])
        // Export goes through the same pseudonyms.
        let exported = try r.call("ListVisits")["visits"]?.array ?? []
        #expect(exported.count == 20)
        var haystacks: [Data] = []
        for suffix in ["", "-wal", "-shm"] {
            if let d = FileManager.default.contents(atPath: r.station.dir + "/station.db" + suffix) {
                haystacks.append(d)
            }
        }
        haystacks.append(Data(r.daemon.log.utf8))
        haystacks.append(Data(exported.map(\.text).joined().utf8))
        #expect(haystacks.count >= 3)
        for id in ids {
            for (i, hay) in haystacks.enumerated() {
                #expect(hay.range(of: Data(id.utf8)) == nil, "raw id \(id) found in haystack \(i)")
                #expect(hay.range(of: Data(id.suffix(9).utf8)) == nil, "id digits of \(id) found in haystack \(i)")
            }
        }
        // The secret is private to the daemon's user.
        let attributes = try FileManager.default.attributesOfItem(atPath: r.station.dir + "/visit-secret")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test("100 acknowledged check-ins survive kill -9")
    func durability() async throws {
        let r = try await Running(extra: "[visits]\nmax_stay = \"1h\"\n")
        for i in 0..<100 {
            let reply = try r.call("CheckIn", ["worker": .string("K-\(i)"), "category": "courier"])
            #expect(reply["visit"]?["id"] != nil)
        }
        r.daemon.killHard()
        try await r.restart()
        #expect(try r.call("ListVisits")["visits"]?.array?.count == 100)
        #expect(try r.call("GetStatus")["occupancy"]?.number == 100)
        // The same rider maps to the same pseudonym after the restart (the secret persisted).
        #expect(try r.call("CheckIn", ["worker": "K-7", "category": "courier"])["already_inside"]?.bool == true)
    }

    /// Hand-computed fixture (UTC), across categories, hours and two days:
    ///   A courier 03-02 08:10–08:40 (30 min)   B food 03-02 08:20–09:20 (60)
    ///   A courier 03-02 12:00–12:10 (10)       C ride 03-02 12:05–12:50 (45)
    ///   D other   03-03 08:30–09:00 (30)       B food 03-03 23:30–still inside
    ///   visits 6; courier 2, food_delivery 2, ride_hailing 1, other 1; hour 8: 3, 12: 2, 23: 1;
    ///   unique riders 4; stays 10, 30, 30, 45, 60 min → mean 35 min, median 30 min;
    ///   peak occupancy 2, first reached at 03-02 08:20.
    static let fixture: [(String, String, String, String?)] = [
        ("A", "courier", "2026-03-02T08:10:00Z", "2026-03-02T08:40:00Z"),
        ("B", "food_delivery", "2026-03-02T08:20:00Z", "2026-03-02T09:20:00Z"),
        ("A", "courier", "2026-03-02T12:00:00Z", "2026-03-02T12:10:00Z"),
        ("C", "ride_hailing", "2026-03-02T12:05:00Z", "2026-03-02T12:50:00Z"),
        ("D", "other", "2026-03-03T08:30:00Z", "2026-03-03T09:00:00Z"),
        ("B", "food_delivery", "2026-03-03T23:30:00Z", nil),
    ]

    static func d(_ s: String) throws -> Date { try Date(s, strategy: .iso8601) }

    @Test("VisitStats matches the hand-computed fixture (pure computation)")
    func statsPure() throws {
        var visits: [VisitRecord] = []
        for (i, f) in Self.fixture.enumerated() {
            visits.append(
                VisitRecord(
                    id: Int64(i), worker: f.0, category: f.1, source: nil, checkedIn: try Self.d(f.2),
                    checkedOut: try f.3.map(Self.d), closedBy: f.3 == nil ? nil : "rider"))
        }
        let s = VisitStatistics.compute(
            visits, from: try Self.d("2026-03-02T00:00:00Z"), to: try Self.d("2026-03-04T00:00:00Z"), time: .utc,
            now: try Self.d("2026-03-04T00:00:00Z"))
        #expect(s.visits == 6)
        #expect(s.byCategory == ["courier": 2, "food_delivery": 2, "ride_hailing": 1, "other": 1])
        #expect(s.byHour[8] == 3 && s.byHour[12] == 2 && s.byHour[23] == 1 && s.byHour.reduce(0, +) == 6)
        #expect(s.uniqueRiders == 4)
        #expect(abs((s.meanStay ?? 0) - 35 * 60) < 0.01)
        #expect(abs((s.medianStay ?? 0) - 30 * 60) < 0.01)
        #expect(s.peakOccupancy == 2)
        #expect(s.peakAt == (try Self.d("2026-03-02T08:20:00Z")))
        // Only the first day: 4 visits, unique 3, peak 2.
        let day1 = VisitStatistics.compute(
            visits, from: try Self.d("2026-03-02T00:00:00Z"), to: try Self.d("2026-03-03T00:00:00Z"), time: .utc)
        #expect(day1.visits == 4 && day1.uniqueRiders == 3 && abs((day1.medianStay ?? 0) - 37.5 * 60) < 0.01)
    }

    @Test("VisitStats through the socket on visits stored by the daemon's store")
    func statsSocket() async throws {
        // Long retention: the fixture is older than the default 90 days.
        let station = try TestStation(
            tcpUnits: [1], extraConfig: "[visits]\nmax_stay = \"20000h\"\nretention = \"20000h\"\n")
        let store = VisitStore(database: try openDatabase(station.dir + "/station.db"))
        for f in Self.fixture {
            _ = try await store.checkIn(worker: f.0 + "-pseudo", category: f.1, source: nil, at: try Self.d(f.2))
            if let out = f.3 { _ = try await store.checkOut(worker: f.0 + "-pseudo", at: try Self.d(out)) }
        }
        let daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        let s = try VarlinkClient(path: station.dir + "/control.sock").call(
            "\(Self.iface).VisitStats", ["from": "2026-03-02T00:00:00Z", "to": "2026-03-04T00:00:00Z"])["stats"]
        #expect(s?["visits"]?.number == 6)
        #expect(s?["unique_riders"]?.number == 4)
        #expect(s?["mean_stay"]?.number == 2100)
        #expect(s?["median_stay"]?.number == 1800)
        #expect(s?["peak_occupancy"]?.number == 2)
        #expect(s?["by_hour"]?.array?[8].number == 3)
        let categories = s?["by_category"]?.array?.map {
            "\($0["category"]?.string ?? ""):\(Int($0["count"]?.number ?? 0))"
        }
        #expect(categories == ["courier:2", "food_delivery:2", "other:1", "ride_hailing:1"])
    }

    @Test("waystationctl checkin, checkout, visits, visits export, stats")
    func cli() async throws {
        let r = try await Running(extra: "[visits]\nmax_stay = \"1h\"\n")
        func ctl(_ args: [String]) async throws -> (Int32, String) {
            try await Spawned.run(DaemonProcess.binDir + "/waystationctl", args + ["--socket", r.socket])
        }
        // The id comes from a file (or stdin), never from argv, where every local user could read it.
        let idFile = r.station.dir + "/card"
        try "CARD-77\n".write(toFile: idFile, atomically: true, encoding: .utf8)
        #expect(try await ctl(["checkin", "--id-file", idFile, "--category", "courier"]).1.contains("checked in"))
        let noID = try await ctl(["checkin", "--category", "courier"])  // stdin is /dev/null here
        #expect(noID.0 != 0 && noID.1.contains("no rider id"), "\(noID)")
        #expect(try await ctl(["visits", "--active"]).1.contains("courier"))
        #expect(try await ctl(["checkout", "--id-file", idFile]).0 == 0)
        let missing = try await ctl(["checkout", "--id-file", idFile])
        #expect(missing.0 == 1 && missing.1.contains("no open visit"), "\(missing)")
        let today = Date().formatted(.iso8601.year().month().day())
        let tomorrow = Date().addingTimeInterval(86400).formatted(.iso8601.year().month().day())
        let csv = try await ctl(["visits", "export", "--from", today, "--to", tomorrow]).1
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "id,rider,category,source,checked_in,checked_out,closed_by")
        #expect(lines.count == 2 && !csv.contains("CARD-77"))
        #expect(try await ctl(["stats", "--from", today, "--to", tomorrow]).1.contains("visits 1"))
    }
}
