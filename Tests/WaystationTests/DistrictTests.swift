import Crypto
import Foundation
import TestSupport
import Testing
import WaystationCore

/// The station's side of the district link (issue 22) through the real daemon's control socket, as
/// the uplink calls it: a real simulator, a real SQLite file, and the hub played by the test (it
/// holds the rider key's private half and answers with district pseudonyms).
@Suite("District link, station side", .serialized)
struct DistrictTests {
    static let iface = "io.waystation.Station"
    static let uplinkGroup = "ws-test-uplink"
    static let info = Data("waystation rider v1".utf8)

    static let uplinkGID: Result<UInt32, TestSupportError> = {
        if let g = getgrnam(uplinkGroup) { return .success(g.pointee.gr_gid) }
        guard let p = try? Spawned("/usr/sbin/groupadd", ["-f", uplinkGroup]), p.wait(timeout: .seconds(30)) == 0,
            let g = getgrnam(uplinkGroup)
        else { return .failure(TestSupportError("cannot create the group \(uplinkGroup) (needs root)")) }
        return .success(g.pointee.gr_gid)
    }()

    /// The files enrolment writes, and the `[district]` section pointing at them.
    static func enrol(_ dir: String, key: Curve25519.KeyAgreement.PrivateKey) throws -> String {
        try Data(key.publicKey.rawRepresentation).base64EncodedString().write(
            toFile: dir + "/hub-rider.pub", atomically: true, encoding: .utf8)
        try "c2VjcmV0LXRva2Vu\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".write(
            toFile: dir + "/hub-ca.pem", atomically: true, encoding: .utf8)
        return """
            [district]
            url = "https://hub.example:8443"
            token_file = "token"
            ca_file = "hub-ca.pem"
            rider_key_file = "hub-rider.pub"

            """
    }

    static let hazards = """
        [[hazard]]
        id = "pothole"
        name = "坑洞"
        points = 3
        [[hazard]]
        id = "manhole"
        name = "井盖"
        points = 2

        """

    /// An enrolled station with its daemon; `uplink_group` set for the role test.
    static func running(_ key: Curve25519.KeyAgreement.PrivateKey) async throws -> StationRun {
        let station = try TestStation(
            tcpUnits: [1],
            extraConfig: hazards + "[visits]\nmax_stay = \"1h\"\n[kiosk]\nscan_interval = \"60s\"\n"
                + (try enrolAt(key)),
            control: "uplink_group = \"\(uplinkGroup)\"")
        let run = try await StationRun(station)
        chmod(run.socket, 0o666)
        return run
    }

    /// `[district]` with its files in a directory of their own (paths absolute).
    static func enrolAt(_ key: Curve25519.KeyAgreement.PrivateKey) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ws-enrol-\(UUID().uuidString.prefix(8))"
        )
        .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try enrol(dir, key: key).replacingOccurrences(of: "= \"token\"", with: "= \"\(dir)/token\"")
            .replacingOccurrences(of: "= \"hub-ca.pem\"", with: "= \"\(dir)/hub-ca.pem\"")
            .replacingOccurrences(of: "= \"hub-rider.pub\"", with: "= \"\(dir)/hub-rider.pub\"")
    }

    /// The hub's side of a look-up: opens a sealed id for `station`.
    static func open(_ sealed: JSON, key: Curve25519.KeyAgreement.PrivateKey, station: String) throws -> String {
        let encText = try #require(sealed["enc"]?.string)
        let ctText = try #require(sealed["ct"]?.string)
        let enc = try #require(Data(base64Encoded: encText))
        let ct = try #require(Data(base64Encoded: ctText))
        var recipient = try HPKE.Recipient(
            privateKey: key, ciphersuite: .Curve25519_SHA256_ChachaPoly, info: info, encapsulatedKey: enc)
        return String(decoding: try recipient.open(ct, authenticating: Data(station.utf8)), as: UTF8.self)
    }

    /// A call as nobody in the uplink group (uplink role), or in no group (reader): the raw reply.
    static func callAs(uplink: Bool, _ run: StationRun, _ method: String, _ parameters: JSON = [:]) async throws -> JSON
    {
        let groups = uplink ? ["--groups=\(try uplinkGID.get())"] : ["--clear-groups"]
        let (status, out) = try await Spawned.run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534"] + groups
                + ["/usr/bin/python3", "-c", KioskTests.client, run.socket, "\(iface).\(method)", parameters.text])
        guard status == 0, let json = JSON.parse(Data(out.utf8)) else {
            throw TestSupportError("client failed (\(status)): \(out)")
        }
        return json
    }

    /// A call in the uplink role; its reply parameters (an error reply throws, with its text).
    static func uplink(_ run: StationRun, _ method: String, _ parameters: JSON = [:]) async throws -> JSON {
        let reply = try await callAs(uplink: true, run, method, parameters)
        if reply["error"] != nil { throw TestSupportError("\(method): \(reply.text)") }
        return reply["parameters"] ?? [:]
    }

    static func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    @Test("[district]: https only, every file named, the rider key checked; station defaults to [station] id")
    func config() throws {
        let station = try TestStation(tcpUnits: [1])
        let key = Curve25519.KeyAgreement.PrivateKey()
        let section = try Self.enrol(station.dir, key: key)
        let base = try String(contentsOfFile: station.configPath, encoding: .utf8)
        let ok = try StationConfigLoader.load(text: base + section, path: station.configPath)
        let d = try #require(ok.district)
        #expect(d.station == "test" && d.url == "https://hub.example:8443")
        #expect(d.riderKey == Array(key.publicKey.rawRepresentation))
        #expect(ok.control.uplinkGroup == "waystation-uplink")
        #expect(try StationConfigLoader.load(text: base, path: station.configPath).district == nil)

        func errors(_ text: String) -> String {
            do {
                _ = try StationConfigLoader.load(text: base + text, path: station.configPath)
                return ""
            } catch { return error.description }
        }
        let http = errors(section.replacingOccurrences(of: "https://", with: "http://"))
        #expect(http.contains("[district]") && http.contains("url") && http.contains("https"))
        let noToken = errors(section.replacingOccurrences(of: "\"token\"", with: "\"missing-token\""))
        #expect(noToken.contains("token_file") && noToken.contains("does not exist"))
        let noCA = errors(section.replacingOccurrences(of: "\"hub-ca.pem\"", with: "\"nope.pem\""))
        #expect(noCA.contains("ca_file") && noCA.contains("does not exist"))
        try "not base64 at all".write(toFile: station.dir + "/bad.pub", atomically: true, encoding: .utf8)
        let badKey = errors(section.replacingOccurrences(of: "\"hub-rider.pub\"", with: "\"bad.pub\""))
        #expect(badKey.contains("rider_key_file") && badKey.contains("32 bytes"))
        let noKey = errors(section.replacingOccurrences(of: "rider_key_file = \"hub-rider.pub\"\n", with: ""))
        #expect(noKey.contains("rider_key_file"))
        let other = try StationConfigLoader.load(
            text: base + section.replacingOccurrences(of: "[district]\n", with: "[district]\nstation = \"fl-001\"\n"),
            path: station.configPath)
        #expect(other.district?.station == "fl-001")
    }

    @Test("a scan seals the id once; reports go up with the district pseudonym; verdicts apply once")
    func link() async throws {
        let key = Curve25519.KeyAgreement.PrivateKey()
        let run = try await Self.running(key)
        let card = "6222 0202 0011 7788"
        let normalised = "6222020200117788"
        _ = try run.call("KioskScan", ["worker": .string(card), "category": "courier"])
        // The same rider again (a new session; the first one ends).
        let second = try run.call("KioskScan", ["worker": .string(normalised), "category": "courier"])
        let session = try #require(second["session"]?.string)

        // The uplink's view: one sealed id (deduplicated per rider) that only the hub opens, for this
        // station only; the report waits for the rider's district pseudonym.
        let report = try run.call(
            "SubmitReport", ["session": .string(session), "category": "pothole", "location": "南门", "note": nil])
        let reportID = try #require(report["report"]?["id"]?.number)
        var out = try await Self.uplink(run, "DistrictOutgoing")
        #expect(out["station"]?.string == "test")
        let lookups = try #require(out["lookups"]?.array)
        #expect(lookups.count == 1)
        let sealed = lookups[0]
        #expect(try Self.open(sealed, key: key, station: "test") == normalised)
        #expect(throws: (any Error).self) { try Self.open(sealed, key: key, station: "other") }
        #expect(out["reports"]?.array?.isEmpty == true)
        let visits = try #require(out["visits"]?.array)
        #expect(visits.count == 1 && visits[0]["category"]?.string == "courier" && visits[0]["visits"]?.number == 1)
        #expect(visits[0].text.contains(try #require(sealed["ref"]?.string)) == false)
        var status = try run.call("DistrictStatus")
        #expect(status["enrolled"] == true && status["lookups"]?.number == 1)
        #expect(status["reports_without_rider"]?.number == 1)

        // The raw id is nowhere in the station's files (database and WAL).
        for file in ["/station.db", "/station.db-wal"] {
            let data = Self.bytes(run.station.dir + file)
            #expect(data.range(of: Data(normalised.utf8)) == nil, "raw id found in \(file)")
        }

        // A reader may not; the kiosk's methods stay closed to the uplink.
        let reader = try await Self.callAs(uplink: false, run, "DistrictOutgoing")
        #expect(reader["error"]?.string == "\(Self.iface).PermissionDenied")
        let scanAsUplink = try await Self.callAs(
            uplink: true, run, "KioskScan", ["worker": "123456", "category": "courier"])
        #expect(scanAsUplink["error"]?.string == "\(Self.iface).PermissionDenied")

        // The hub answers: the sealed id is dropped, the report goes up with the district pseudonym.
        let district = String(repeating: "ab", count: 16)
        let ref = try #require(sealed["ref"]?.string)
        let mapped = try await Self.callAs(
            uplink: true, run, "DistrictAccepted",
            ["riders": [["ref": .string(ref), "district": .string(district)]]])
        #expect(mapped["parameters"]?["riders"]?.number == 1)
        out = try await Self.uplink(run, "DistrictOutgoing")
        #expect(out["lookups"]?.array?.isEmpty == true)
        let up = try #require(out["reports"]?.array)
        #expect(up.count == 1 && up[0]["rider"]?.string == district && up[0]["id"]?.number == reportID)
        #expect(up[0]["key"]?.string == "test-report-\(Int(reportID))" && up[0]["category"]?.string == "pothole")
        // The same rider again: known to the hub, nothing to look up.
        let third = try run.call("KioskScan", ["worker": .string(card), "category": "courier"])
        let panel = try #require(third["session"]?.string)
        #expect(try run.call("DistrictStatus")["lookups"]?.number == 0)

        // Accepted once; a repeat changes nothing.
        let accepted: JSON = ["reports": [.number(reportID)]]
        #expect(try run.call("DistrictAccepted", accepted)["reports"]?.number == 1)
        #expect(try run.call("DistrictAccepted", accepted)["reports"]?.number == 0)
        #expect(try run.call("DistrictOutgoing")["reports"]?.array?.isEmpty == true)

        // Down: a verdict with the district's points (not the station's 3), categories, notices, a balance.
        let now = Date()
        let iso = { (d: Date) in ISO8601DateFormatter().string(from: d) }
        let changes: JSON = [
            "verdicts": [
                [
                    "id": .number(reportID), "verdict": "verified", "note": "fixed", "points": 7,
                    "judged": .string(iso(now)),
                ]
            ],
            "categories": [
                ["id": "pothole", "name": "Pothole", "name_zh": "路面坑洞", "points": 7],
                ["id": "flood", "name": "Flooding", "name_zh": "积水", "points": 4],
            ],
            "notices": [
                [
                    "id": 1, "title": "Free health check", "title_zh": "免费体检<b>", "body": "Saturday 9-12",
                    "body_zh": "周六上午", "from": .string(iso(now.addingTimeInterval(-3600))),
                    "until": .string(iso(now.addingTimeInterval(86400))), "withdrawn": false,
                ],
                [
                    "id": 2, "title": "Later", "body": "not yet", "from": .string(iso(now.addingTimeInterval(86400))),
                    "until": .string(iso(now.addingTimeInterval(2 * 86400))), "withdrawn": false,
                ],
            ],
            "balances": [
                [
                    "rider": .string(district), "balance": 12,
                    "recent": [["at": .string(iso(now)), "points": 7, "why": "report verified"]],
                ]
            ],
        ]
        let applied = try await Self.callAs(
            uplink: true, run, "DistrictApply", ["changes": changes, "cursor": "c-1"])
        #expect(applied["parameters"]?["verdicts"]?.number == 1)
        #expect(try run.call("DistrictApply", ["changes": changes, "cursor": "c-1"])["verdicts"]?.number == 0)
        let listed = try #require(try run.call("ListReports")["reports"]?.array?.first)
        #expect(listed["status"]?.string == "verified" && listed["points"]?.number == 7)
        #expect(listed["judged_by"]?.string == "district")
        let rider = try #require(try run.call("GetRider", ["session": .string(panel)])["rider"])
        #expect(rider["points"]?.number == 7)
        #expect(rider["district"]?["balance"]?.number == 12 && rider["district"]?["last_known"] == false)
        #expect(rider["district"]?["recent"]?.array?.first?["why"]?.string == "report verified")
        let kiosk = try #require(try run.call("GetKioskStatus")["kiosk"])
        #expect(kiosk["hazard_categories"]?.array?.compactMap { $0["id"]?.string } == ["pothole", "flood"])
        #expect(kiosk["hazard_categories"]?.array?.first?["name"]?.string == "路面坑洞")
        let notices = try #require(kiosk["notices"]?.array)
        #expect(notices.count == 1 && notices[0]["title"]?.string == "免费体检<b>")
        #expect(notices[0]["title_en"]?.string == "Free health check")
        // A report in a district category the config does not have is taken.
        let flood = try run.call(
            "SubmitReport", ["session": .string(panel), "category": "flood", "location": "桥下", "note": nil])
        #expect(flood["report"]?["points"]?.number == 4)
        // Bad changes are refused whole, naming what was wrong.
        let bad = run.error(
            "DistrictApply",
            ["changes": ["verdicts": [["id": 1, "verdict": "maybe", "points": 1, "judged": "x"]]], "cursor": "c-2"])
        #expect(bad?.0 == "org.varlink.service.InvalidParameter")
        status = try run.call("DistrictStatus")
        #expect(status["cursor"]?.string == "c-1" && status["last_sync"]?.string != nil)
        let ctl = DaemonProcess.binDir + "/waystationctl"
        let (ctlStatus, ctlOut) = try await Spawned.run(ctl, ["--socket", run.socket, "district"])
        #expect(ctlStatus == 0 && ctlOut.contains("c-1") && ctlOut.contains("https://hub.example:8443"), "\(ctlOut)")
        #expect(ctlOut.contains("riders known") && !ctlOut.contains("not enrolled"), "\(ctlOut)")
        #expect(status["riders"]?.number == 1 && status["categories"]?.number == 2)

        // The hub away: after a restart with the last sync 10 minutes back, the balance is "last known".
        let tenMinutesAgo = Int64((Date().timeIntervalSince1970 - 600) * 1000)
        run.daemon.signal(SIGTERM)
        _ = try await run.daemon.waitForExit()
        let (rc, sqlOut) = try await Spawned.run(
            "/usr/bin/sqlite3",
            [run.station.dir + "/station.db", "UPDATE district_sync SET last_sync = \(tenMinutesAgo)"])
        #expect(rc == 0, "\(sqlOut)")
        try await run.restart()
        let again = try run.call("KioskScan", ["worker": .string(card), "category": "courier"])
        let away = try #require(again["rider"]?["district"])
        #expect(away["last_known"] == true && away["balance"]?.number == 12)
        #expect((away["age"]?.number ?? 0) >= 600)
        #expect(try run.call("DistrictStatus")["cursor"]?.string == "c-1")
    }

    @Test("a station with no [district]: the link's methods say so, the kiosk is as before")
    func notEnrolled() async throws {
        let run = try await StationRun(try TestStation(tcpUnits: [1]))
        #expect(run.error("DistrictOutgoing")?.0 == "\(Self.iface).DistrictNotEnrolled")
        #expect(run.error("DistrictApply", ["changes": [:], "cursor": "x"])?.0 == "\(Self.iface).DistrictNotEnrolled")
        #expect(try run.call("DistrictStatus")["enrolled"] == false)
        let ctl = DaemonProcess.binDir + "/waystationctl"
        let (status, out) = try await Spawned.run(ctl, ["--socket", run.socket, "district"])
        #expect(status == 0 && out.contains("not enrolled"), "\(out)")
        let (redeem, why) = try await Spawned.run(
            ctl, ["--socket", run.socket, "riders", "redeem", "10", "water bottle"])
        #expect(redeem == 69 && why.contains("needs the district link"), "\(redeem): \(why)")
        let scan = try run.call("KioskScan", ["worker": "6222020200119999", "category": "courier"])
        #expect(scan["rider"]?["district"] == nil)
        #expect(try run.call("GetKioskStatus")["kiosk"]?["notices"] == nil)
    }
}
