import Foundation
import Synchronization
import TestSupport
import Testing
import WaystationCore
import WaystationPolling
import WaystationStorage

/// Drills from outside against the real daemon and waystationctl: a stop while a receiver hangs, a
/// silent name server, text that tries to forge output or a spreadsheet formula, farmed points, a
/// large station's self-test, damage on a small disk, a full disk at check-in.
@Suite("Drills: stops, names, forged text, farmed points, self-test, full disk", .serialized)
struct DrillTests {
    static let iface = "io.waystation.Station"
    static let ctl = DaemonProcess.binDir + "/waystationctl"

    /// An alert that fires at once (the test device's coil c1 is on) and one webhook target.
    static func alerting(url: String, timeout: String) -> String {
        """
        [[alert]]
        name = "CoilOn"
        device = "t1"
        when = "c1"

        [[notify]]
        kind = "webhook"
        name = "hook"
        url = "\(url)"
        timeout = "\(timeout)"

        """
    }

    static func setConfig(_ s: TestStation, _ from: String, _ to: String) throws {
        let text = try String(contentsOfFile: s.configPath, encoding: .utf8).replacingOccurrences(of: from, with: to)
        try text.write(toFile: s.configPath, atomically: true, encoding: .utf8)
    }

    @Test("SIGTERM while a webhook hangs: history and state are flushed first, and the daemon exits within 10 s")
    func stopDuringHungDelivery() async throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        receiver.setHolding(true)
        let s = try TestStation(
            tcpUnits: [1], extraConfig: Self.alerting(url: "http://127.0.0.1:\(receiver.port)/h", timeout: "60s"))
        // Values reach the disk only at the stop.
        try Self.setConfig(s, "flush_interval = \"0ms\"", "flush_interval = \"1h\"")
        let r = try await StationRun(s, waitForOnline: ["t1"])
        try await r.daemon.waitFor("the receiver holds a notification") { !receiver.requests.isEmpty }
        try s.simulator.set(device: "t1", point: "u16", value: 4242)
        try await r.daemon.waitFor("the daemon read 4242") {
            try r.call("GetDevice", ["id": "t1"])["device"]?["points"]?.array?.contains {
                $0["name"]?.string == "u16" && $0["value"]?.number == 4242
            } == true
        }
        r.daemon.signal(SIGTERM)
        let status = try await r.daemon.waitForExit(within: .seconds(10))
        if status == nil { r.daemon.killHard() }
        #expect(status == 0, "still running 10 s after SIGTERM (or failed)")
        let history = HistoryStore(database: try openDatabase(s.dir + "/station.db"))
        #expect(try history.values(device: "t1", point: "u16").last?.value == 4242, "the final flush was lost")
        receiver.setHolding(false)
    }

    @Test("a silent name server: each delivery attempt, name lookup included, ends at the target's timeout")
    func silentNameServer() async throws {
        // A name server that takes queries and never answers, on its own loopback address.
        let ns = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(ns) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(53).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.77.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(ns, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0, "cannot bind 127.77.0.1:53 (needs root)")
        let s = try TestStation(
            tcpUnits: [1], extraConfig: Self.alerting(url: "http://hooks.station.test:8080/h", timeout: "2s"))
        // The daemon alone sees a resolv.conf naming it (a mount namespace of its own): 30 s per query.
        let resolv = s.dir + "/resolv.conf"
        try "nameserver 127.77.0.1\noptions timeout:30 attempts:1\n".write(
            toFile: resolv, atomically: true, encoding: .utf8)
        // Names through DNS only (not a host's systemd-resolved), so the lookup meets that server.
        let nsswitch = s.dir + "/nsswitch.conf"
        try "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n".write(
            toFile: nsswitch, atomically: true, encoding: .utf8)
        let d = try DaemonProcess(
            config: s.configPath, dir: s.dir,
            wrapper: [
                "/usr/bin/unshare", "--mount", "/bin/sh", "-c",
                "mount --bind \"$0\" /etc/resolv.conf && mount --bind \"$1\" /etc/nsswitch.conf && shift && exec \"$@\"",
                resolv, nsswitch,
            ])
        try await d.waitFor("READY=1") { d.count("READY=1") >= 1 }
        let db = try openDatabase(s.dir + "/station.db")
        // Two attempts given up at 2 s each (and the back-off between) fit well inside 20 s; a lookup
        // outside the deadline would still be waiting for its first answer.
        try await d.waitFor("two attempts, each ended at the timeout", within: .seconds(20)) {
            try db.readNow { try Int.fetchOne($0, sql: "SELECT max(attempts) FROM outbox WHERE target = 'hook'") } ?? 0
                >= 2
        }
        #expect(
            d.log.contains("no answer from the name server for hooks.station.test within the 2s timeout"), "\(d.log)")
        // And a stop is not held up by the lookup in progress.
        d.signal(SIGTERM)
        let status = try await d.waitForExit(within: .seconds(10))
        if status == nil { d.killHard() }
        #expect(status == 0)
    }

    static let hazards = """
        [[hazard]]
        id = "pothole"
        name = "坑洞"
        points = 5

        """

    @Test("a forged note cannot add a row or reorder text in waystationctl; exports neutralise spreadsheet formulas")
    func forgedText() async throws {
        let s = try TestStation(tcpUnits: [1], extraConfig: Self.hazards)
        let r = try await StationRun(s)
        let session = try #require(
            try r.call("KioskScan", ["worker": "CARD7", "category": "courier"])["session"]?.string)
        let forged = "ok\n99  2026-01-01T00:00:00Z  pothole  FAKE  verified  500\u{202E}gpj.exe"
        _ = try r.call(
            "SubmitReport",
            [
                "session": .string(session), "category": "pothole", "location": "=HYPERLINK(\"http://evil\",\"x\")",
                "note": .string(forged),
            ])
        let (status, out) = try await Spawned.run(Self.ctl, ["reports", "--socket", r.socket])
        #expect(status == 0, "\(out)")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 2, "a header and one report, not a forged row:\n\(out)")
        #expect(out.contains("ok\\n99") && out.contains("\\u{202E}gpj.exe"), "\(out)")
        #expect(!out.unicodeScalars.contains("\u{202E}"), "the right-to-left override reached the terminal")
        // CSV for the district: a formula becomes text.
        let (_, csv) = try await Spawned.run(
            Self.ctl, ["reports", "export", "--from", "2020-01-01", "--to", "2100-01-01", "--socket", r.socket])
        #expect(csv.contains("'=HYPERLINK("), "\(csv)")
        #expect(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "\(csv)")
        _ = try r.call("CheckIn", ["worker": "D-4", "category": "courier", "source": "+cmd|' /C calc'!A0"])
        let (_, visits) = try await Spawned.run(
            Self.ctl, ["visits", "export", "--from", "2020-01-01", "--to", "2100-01-01", "--socket", r.socket])
        #expect(visits.contains(",'+cmd|"), "\(visits)")
        #expect(!visits.contains(",+cmd|"), "\(visits)")
    }

    @Test("the same report again within 24 h is a duplicate: linked to the first, worth nothing when verified")
    func duplicates() async throws {
        let s = try TestStation(tcpUnits: [1], extraConfig: Self.hazards)
        let r = try await StationRun(s)
        let session = try #require(
            try r.call("KioskScan", ["worker": "CARD8", "category": "courier"])["session"]?.string)
        func file(_ place: String) throws -> JSON {
            try r.call(
                "SubmitReport", ["session": .string(session), "category": "pothole", "location": .string(place)])[
                    "report"] ?? [:]
        }
        let first = try file("North Gate")
        let firstID = try #require(first["id"]?.number)
        #expect(first["duplicate_of"] == nil || first["duplicate_of"] == .null)
        let copies = [try file("north  gate"), try file("North Gate")]
        for c in copies {
            #expect(c["duplicate_of"]?.number == firstID, "\(c)")
            #expect(c["points"]?.number == 0)
        }
        let elsewhere = try file("South Gate")
        #expect(elsewhere["duplicate_of"] == nil || elsewhere["duplicate_of"] == .null)
        for report in [first] + copies + [elsewhere] {
            let id = try #require(report["id"]?.number)
            _ = try r.call("JudgeReport", ["id": .number(id), "verdict": "verified"])
        }
        #expect(try r.call("GetRider", ["session": .string(session)])["rider"]?["points"]?.number == 10)
        let (_, out) = try await Spawned.run(Self.ctl, ["reports", "--socket", r.socket])
        #expect(out.contains("(duplicate of \(Int(firstID)))"), "\(out)")
    }

    @Test("self-test on a 21-device station: every device ok (its own reads are not refused as too many)")
    func selfTestLargeStation() async throws {
        let s = try TestStation(tcpUnits: Array(1...21))
        let r = try await StationRun(s, waitForOnline: ["t21"])
        let test = try r.call("SelfTest")
        let devices = test["devices"]?.array ?? []
        #expect(devices.count == 21)
        #expect(devices.allSatisfy { $0["ok"]?.bool == true }, "\(devices.filter { $0["ok"]?.bool != true })")
        // A client read refused as too many names its device's unit, not unit 0.
        let refusals = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 40) { _ in
            if let (_, p) = r.error("ReadPoint", ["device": "t7", "point": "u16"]) {
                refusals.withLock { $0.append(p["error"]?.string ?? "") }
            }
        }
        for text in refusals.withLock({ $0 }) {
            #expect(text.contains("unit 7") && !text.contains("unit 0"), "\(text)")
        }
    }

    /// A tmpfs of `size` at `<station>/disk`, the station's database moved onto it.
    static func smallDisk(_ s: TestStation, size: String) async throws -> String {
        let disk = s.dir + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = try await Spawned.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", disk])
        try #require(mount.0 == 0, "cannot mount a tmpfs here: \(mount.1)")
        try setConfig(s, "path = \"station.db\"", "path = \"disk/station.db\"")
        return disk
    }

    @Test("self-test on a damaged database with little space: the damage is named first")
    func worstStorageFirst() async throws {
        let s = try TestStation(tcpUnits: [1])
        let disk = try await Self.smallDisk(s, size: "40m")
        defer { Task { _ = try? await Spawned.run("/usr/bin/umount", ["-l", disk]) } }
        let r = try await StationRun(s)
        _ = try r.call("CheckIn", ["worker": "A-1", "category": "courier"])
        try await StorageFaultTests.damageVisitTable(disk + "/station.db")
        let test = try r.call("SelfTest")
        let error = try #require(test["storage_error"]?.string, "\(test)")
        #expect(error.hasPrefix("database damaged"), "\(error)")
        #expect(error.contains("MiB free"), "the lesser condition is still named: \(error)")
    }

    @Test("a check-in on a full disk is refused as StorageFull, in words, not as SQLite's InternalError")
    func checkInOnFullDisk() async throws {
        let s = try TestStation(tcpUnits: [1])
        let disk = try await Self.smallDisk(s, size: "3m")
        defer { Task { _ = try? await Spawned.run("/usr/bin/umount", ["-l", disk]) } }
        let r = try await StationRun(s)
        _ = try await Spawned.run("/usr/bin/dd", ["if=/dev/zero", "of=\(disk)/filler", "bs=64k"])
        var refusal: (String, JSON)?
        var n = 0
        try await waitUntil("a check-in refused", within: .seconds(30)) {
            n += 1
            refusal = r.error("CheckIn", ["worker": .string("R-\(n)"), "category": "courier"])
            return refusal != nil
        }
        #expect(refusal?.0 == "\(Self.iface).StorageFull", "\(String(describing: refusal))")
        #expect(refusal?.1["directory"]?.string?.hasSuffix("/disk") == true)
        let (status, out) = try await Spawned.run(
            "/bin/sh", ["-c", "echo R-X | \(Self.ctl) checkin --category courier --socket \(r.socket)"])
        #expect(status != 0 && out.contains("storage full"), "\(out)")
    }
}
