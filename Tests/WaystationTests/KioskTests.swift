import Foundation
import TestSupport
import Testing
import WaystationCore

/// The kiosk's methods and hazard reports through the real daemon's socket, with the kiosk's
/// process played by another uid in a kiosk group (setpriv), and a reader beside it.
@Suite("Kiosk and hazard reports", .serialized)
struct KioskTests {
    static let iface = "io.waystation.Station"
    static let kioskGroup = "ws-test-kiosk"

    /// A Python client run as nobody, with or without the kiosk group: prints the raw reply object.
    static let client = """
        import json, socket, sys
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        s.sendall(json.dumps({"method": sys.argv[2], "parameters": json.loads(sys.argv[3])}).encode() + b"\\0")
        buf = b""
        while not buf.endswith(b"\\0"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        sys.stdout.write(buf.rstrip(b"\\0").decode())
        """

    /// The test's kiosk group, made once per run (suites run in parallel; two groupadds would race).
    static let kioskGID: Result<UInt32, TestSupportError> = {
        if let g = getgrnam(kioskGroup) { return .success(g.pointee.gr_gid) }
        guard let p = try? Spawned("/usr/sbin/groupadd", ["-f", kioskGroup]), p.wait(timeout: .seconds(30)) == 0,
            let g = getgrnam(kioskGroup)
        else { return .failure(TestSupportError("cannot create the group \(kioskGroup) (needs root)")) }
        return .success(g.pointee.gr_gid)
    }()

    final class Running: @unchecked Sendable {
        // @unchecked: set once in init (daemon is replaced only by restart(), from the test's task).
        let station: TestStation
        var daemon: DaemonProcess
        let kioskGID: UInt32
        var socket: String { station.dir + "/control.sock" }

        init(extra: String = "") async throws {
            kioskGID = try KioskTests.kioskGID.get()
            station = try TestStation(tcpUnits: [1], extraConfig: "[visits]\nmax_stay = \"1h\"\n" + extra)
            var text = try String(contentsOfFile: station.configPath, encoding: .utf8)
            text = text.replacingOccurrences(
                of: "socket = \"control.sock\"\n",
                with: "socket = \"control.sock\"\nkiosk_group = \"\(KioskTests.kioskGroup)\"\n")
            try text.write(toFile: station.configPath, atomically: true, encoding: .utf8)
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            try await start()
        }

        private func start() async throws {
            let d = daemon
            try await d.waitFor("READY=1") { d.count("READY=1") >= 1 }
            // Let other uids connect at all (the socket is 0660, owned by the daemon's user).
            chmod(socket, 0o666)
        }

        func restart() async throws {
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            try await start()
        }

        func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
            try VarlinkClient(path: socket).call("\(KioskTests.iface).\(method)", parameters)
        }

        /// A call as nobody: in the kiosk group (kiosk role) or in no group (reader). The raw reply.
        func callAs(kiosk: Bool, _ method: String, _ parameters: JSON = [:]) async throws -> (JSON, String) {
            let groups = kiosk ? ["--groups=\(kioskGID)"] : ["--clear-groups"]
            let (status, out) = try await Spawned.run(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534"] + groups
                    + [
                        "/usr/bin/python3", "-c", KioskTests.client, socket, "\(KioskTests.iface).\(method)",
                        parameters.text,
                    ])
            guard status == 0, let json = JSON.parse(Data(out.utf8)) else {
                throw TestSupportError("client failed (\(status)): \(out)")
            }
            return (json, out)
        }

        func kiosk(_ method: String, _ parameters: JSON = [:]) async throws -> JSON {
            let (reply, out) = try await callAs(kiosk: true, method, parameters)
            if let e = reply["error"]?.string { throw TestSupportError("\(method): \(e) \(out)") }
            return reply["parameters"] ?? [:]
        }

        func kioskError(_ method: String, _ parameters: JSON = [:]) async throws -> (String, JSON) {
            let (reply, _) = try await callAs(kiosk: true, method, parameters)
            return (reply["error"]?.string ?? "", reply["parameters"] ?? [:])
        }
    }

    @Test("a scan checks in, a second checks out; sessions; rate limits; no pseudonym to the kiosk")
    func scan() async throws {
        let r = try await Running(extra: "[kiosk]\nscan_interval = \"5s\"\nscans_per_minute = 5\n")
        let card = "6222020200112233"
        let first = try await r.kiosk("KioskScan", ["worker": .string(card), "category": "courier"])
        #expect(first["action"]?.string == "checked_in")
        #expect(first["occupancy"]?.number == 1 && first["capacity"]?.number == 4)
        let session = try #require(first["session"]?.string)
        #expect(session.count == 32 && session.allSatisfy(\.isHexDigit))
        #expect(first["rider"]?["points"]?.number == 0)
        // The same rider again at once, inside: "already checked in" (not a check-out, not an error),
        // with a new session for the panel; the occupancy is unchanged.
        let again = try await r.kiosk("KioskScan", ["worker": .string(card), "category": "courier"])
        #expect(again["action"]?.string == "already_checked_in")
        #expect(again["occupancy"]?.number == 1)
        let againSession = try #require(again["session"]?.string)
        #expect(againSession != session)
        #expect(try await r.kioskError("GetRider", ["session": .string(session)]).0 == "\(Self.iface).SessionExpired")

        // A reader may see the station but not scan.
        let (reader, _) = try await r.callAs(kiosk: false, "KioskScan", ["worker": "1", "category": "courier"])
        #expect(reader["error"]?.string == "\(Self.iface).PermissionDenied")
        let (status, _) = try await r.callAs(kiosk: false, "GetKioskStatus")
        #expect(status["parameters"]?["kiosk"]?["station"]?["capacity"]?.number == 4)
        // The scan after the interval checks the rider out, with a new session; the old one ended.
        var second: JSON = [:]
        try await waitUntil("the rate limit to pass", within: .seconds(20)) {
            let (reply, _) = try await r.callAs(
                kiosk: true, "KioskScan", ["worker": .string(card), "category": "courier"])
            second = reply["parameters"] ?? [:]
            return reply["error"] == nil && second["action"]?.string != "already_checked_in"
        }
        #expect(second["action"]?.string == "checked_out")
        // Checked out, the same rider again at once: refused, with the seconds to wait.
        let (limited, p) = try await r.kioskError("KioskScan", ["worker": .string(card), "category": "courier"])
        #expect(limited == "\(Self.iface).RateLimited")
        #expect((p["retry_after"]?.number ?? 0) >= 1)
        #expect(second["occupancy"]?.number == 0)
        #expect(try await r.kioskError("GetRider", ["session": .string(session)]).0 == "\(Self.iface).SessionExpired")
        let live = try #require(second["session"]?.string)
        #expect(try await r.kiosk("GetRider", ["session": .string(live)])["rider"]?["points"]?.number == 0)
        _ = try await r.kiosk("EndSession", ["session": .string(live)])
        #expect(try await r.kioskError("GetRider", ["session": .string(live)]).0 == "\(Self.iface).SessionExpired")
        // Everyone together: at most 5 scans a minute (2 so far).
        var refused = 0
        for i in 0..<5 {
            let (reply, _) = try await r.callAs(
                kiosk: true, "KioskScan", ["worker": .string("77\(i)"), "category": i == 0 ? "unknown" : "other"])
            if reply["error"]?.string == "\(Self.iface).RateLimited" { refused += 1 }
        }
        #expect(refused == 2)
        #expect(try r.call("GetStatus")["occupancy"]?.number == 3)
        // Check-in and check-out replies to a kiosk carry no pseudonym either; an admin sees it.
        let visits = try r.call("ListVisits")["visits"]?.array ?? []
        let pseudonyms = Set(visits.compactMap { $0["worker"]?.string }.filter { !$0.isEmpty })
        #expect(pseudonyms.count == 4)
        // No category chosen at the kiosk: stored as "unknown", never a guess.
        #expect(visits.contains { $0["category"]?.string == "unknown" })
        let (checkIn, checkInText) = try await r.callAs(
            kiosk: true, "CheckIn", ["worker": "X-1", "category": "courier"])
        #expect(checkIn["parameters"]?["visit"]?["worker"]?.string == "")
        let (notIn, notInText) = try await r.callAs(kiosk: true, "CheckOut", ["worker": "nobody-here"])
        #expect(notIn["error"]?.string == "\(Self.iface).NotCheckedIn")
        for text in [first.text, second.text, checkInText, notInText] {
            for p in pseudonyms { #expect(!text.contains(p), "a pseudonym in a kiosk reply") }
            #expect(!text.contains(card))
        }
        #expect(!r.daemon.log.contains(card), "the raw id in the daemon's log")
    }

    @Test("reports: filed by a kiosk, judged by an admin, points credited, audited, durable, exported")
    func reports() async throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let r = try await Running(
            extra: """
                [[notify]]
                kind = "webhook"
                name = "district"
                url = "http://127.0.0.1:\(receiver.port)/reports"
                reports = true

                [[hazard]]
                id = "manhole_cover"
                name = "井盖破损"
                name_en = "Broken manhole cover"
                points = 10

                [[hazard]]
                id = "other"
                name = "其他"
                points = 2

                """)
        let card = "CARD4242"
        let scan = try await r.kiosk("KioskScan", ["worker": .string(card), "category": "courier"])
        let session = try #require(scan["session"]?.string)
        // Refusals say which field.
        let tooLong = String(repeating: "路", count: 81)
        var (e, p) = try await r.kioskError(
            "SubmitReport", ["session": .string(session), "category": "manhole_cover", "location": .string(tooLong)])
        #expect(e == "\(Self.iface).InvalidReport" && p["field"]?.string == "location")
        (e, p) = try await r.kioskError(
            "SubmitReport", ["session": .string(session), "category": "no_such", "location": "gate"])
        #expect(e == "\(Self.iface).InvalidReport" && p["field"]?.string == "category")
        (e, p) = try await r.kioskError(
            "SubmitReport",
            [
                "session": .string(session), "category": "other", "location": "gate",
                "note": .string(String(repeating: "x", count: 201)),
            ])
        #expect(e == "\(Self.iface).InvalidReport" && p["field"]?.string == "note")
        (e, _) = try await r.kioskError(
            "SubmitReport", ["session": "00000000000000000000000000000000", "category": "other", "location": "gate"])
        #expect(e == "\(Self.iface).SessionExpired")
        let filed = try await r.kiosk(
            "SubmitReport",
            [
                "session": .string(session), "category": "manhole_cover", "location": "东门 east gate",
                "note": "cover cracked",
            ])
        let id = try #require(filed["report"]?["id"]?.number)
        #expect(filed["report"]?["status"]?.string == "pending" && filed["report"]?["points"]?.number == 10)
        #expect(filed["report"]?["reporter"] == nil, "the pseudonym went to the kiosk")
        #expect(filed["rider"]?["points"]?.number == 0)
        // Durable once acknowledged: kill -9 right after.
        r.daemon.killHard()
        try await r.restart()
        // Admin only: a kiosk may not list or judge.
        #expect(try await r.kioskError("ListReports").0 == "\(Self.iface).PermissionDenied")
        #expect(
            try await r.kioskError("JudgeReport", ["id": .number(id), "verdict": "verified"]).0
                == "\(Self.iface).PermissionDenied")
        let listed = try r.call("ListReports", ["status": "pending"])["reports"]?.array ?? []
        #expect(listed.count == 1)
        let reporter = try #require(listed.first?["reporter"]?.string)
        #expect(reporter.count == 64)
        // Verify with waystationctl; the rider's balance rises (a new session after the restart).
        let ctl = DaemonProcess.binDir + "/waystationctl"
        let (status, out) = try await Spawned.run(
            ctl, ["report", "verify", "\(Int(id))", "--note", "seen", "--socket", r.socket])
        #expect(status == 0, "\(out)")
        #expect(out.contains("10 points credited"))
        let (again, againOut) = try await Spawned.run(ctl, ["report", "reject", "\(Int(id))", "--socket", r.socket])
        #expect(again == 1 && againOut.contains("already verified"), "\(againOut)")
        var rescan: JSON = [:]
        try await waitUntil("a scan to be accepted", within: .seconds(10)) {
            let (reply, _) = try await r.callAs(
                kiosk: true, "KioskScan", ["worker": .string(card), "category": "courier"])
            rescan = reply["parameters"] ?? [:]
            return reply["error"] == nil
        }
        #expect(rescan["rider"]?["points"]?.number == 10)
        #expect(rescan["rider"]?["reports"]?.array?.first?["status"]?.string == "verified")
        // Audited with who.
        let audit = try r.call("ListAudit", ["limit": 5])["entries"]?.array ?? []
        #expect(
            audit.contains { $0["action"]?.string == "report-verified" && $0["target"]?.string == "report \(Int(id))" })
        // The district gets the report and its verdict through the outbox, with the pseudonym only.
        // Delivery is at least once: the kill -9 above may fall between the receiver's answer and the
        // daemon's mark, and then the submission comes again, with the same idempotency key.
        func reportRequests() -> [WebhookReceiver.Request] {
            receiver.requests.filter { String(decoding: $0.body, as: UTF8.self).contains("hazard_report") }
        }
        try await waitUntil("the verdict at the webhook", within: .seconds(20)) {
            reportRequests().contains { String(decoding: $0.body, as: UTF8.self).contains("\"event\":\"verified\"") }
        }
        var seen: [String: String] = [:]
        var events: [String] = []
        for request in reportRequests() {
            let body = String(decoding: request.body, as: UTF8.self)
            let key = try #require(request.headers["idempotency-key"], "a report without its idempotency key")
            if let earlier = seen[key] {
                #expect(earlier == body, "one key, two different bodies")
                continue
            }
            seen[key] = body
            events.append(
                body.contains("\"event\":\"submitted\"")
                    ? "submitted" : body.contains("\"event\":\"verified\"") ? "verified" : body)
        }
        #expect(events == ["submitted", "verified"])
        #expect(seen.values.allSatisfy { $0.contains(reporter) && !$0.contains(card) })
        // CSV export for the district: pseudonymous reporter, category, time, outcome.
        let csvPath = r.station.dir + "/reports.csv"
        let (exported, exportOut) = try await Spawned.run(
            ctl,
            ["reports", "export", "--from", "2020-01-01", "--to", "2100-01-01", "-o", csvPath, "--socket", r.socket])
        #expect(exported == 0, "\(exportOut)")
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "id,reporter,category,created_at,outcome,points,judged_at,location")
        #expect(
            csv.count == 2 && csv[1].hasPrefix("\(Int(id)),\(reporter),manhole_cover,")
                && csv[1].contains(",verified,10,"))
        // And the raw id is nowhere in the database or the log.
        for suffix in ["", "-wal"] {
            let data = FileManager.default.contents(atPath: r.station.dir + "/station.db" + suffix) ?? Data()
            #expect(data.range(of: Data(card.utf8)) == nil)
        }
        #expect(!r.daemon.log.contains(card))
    }

    @Test("GetMetrics has every figure of the metrics contract; GetKioskStatus the kiosk's shape")
    func figures() async throws {
        let r = try await Running()
        try await r.daemon.waitFor("t1 online") {
            try r.call("ListDevices")["devices"]?.array?.first?["state"]?.string == "online"
        }
        _ = try await r.kiosk("KioskScan", ["worker": "55", "category": "food_delivery"])
        let m = try #require(try r.call("GetMetrics")["metrics"])
        #expect(m["station"]?.string == "test")
        #expect(m["devices"]?.array?.first?["state"]?.string == "online")
        #expect(m["points"]?.array?.contains { $0["point"]?.string == "u16" && $0["value"]?.number == 1001 } == true)
        let bus = try #require(m["buses"]?.array?.first)
        #expect(bus["requests"]?.array?.count == 6)
        #expect(bus["buckets"]?.array?.count == bus["bucket_bounds"]?.array?.count)
        #expect((bus["duration_count"]?.number ?? 0) > 0)
        #expect(m["alerts"]?.array?.count == 6)
        #expect(
            m["check_ins"]?.array?.contains { $0["category"]?.string == "food_delivery" && $0["count"]?.number == 1 }
                == true)
        #expect(m["occupancy"]?.number == 1 && m["capacity"]?.number == 4)
        #expect(m["storage_ok"]?.bool == true && (m["database_size_bytes"]?.number ?? 0) > 0)
        #expect((m["storage_written_bytes"]?.number ?? 0) > 0)
        #expect(!m.text.contains("worker"))
        let k = try #require(try r.call("GetKioskStatus")["kiosk"])
        for key in [
            "station", "occupancy", "seats_free", "room", "water", "microwave", "slots", "services", "visit_categories",
            "hazard_categories", "location_presets", "updated_at",
        ] {
            #expect(k[key] != nil, "no \(key)")
        }
        #expect(k["seats_free"]?.number == 3)
        #expect(k["hazard_categories"]?.array?.count == 5, "the default categories")
        #expect(k["microwave"]?["state"]?.string == "unknown", "no point with the power role here")
    }
}
