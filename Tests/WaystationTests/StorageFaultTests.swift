import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationStorage
import WaystationPolling
import WaystationVisits

/// Bad data from the disk, against the real daemon: a damaged or newer database at start, damage
/// while running, a full disk (a small tmpfs), a second daemon on the same state, a bad secret file,
/// and a clock that cannot be right (faketime).
@Suite("Storage faults (real daemon)", .serialized)
struct StorageFaultTests {
    /// Points the visit table at another table's pages, as a damaged page would (through SQLite, so
    /// a running daemon's connection sees it at once).
    static func damageVisitTable(_ path: String) async throws {
        let damage = """
            import sqlite3, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            v = c.execute("PRAGMA schema_version").fetchone()[0]
            c.execute("PRAGMA writable_schema=ON")
            c.execute("UPDATE sqlite_master SET rootpage=(SELECT rootpage FROM sqlite_master WHERE name='series') WHERE name='visit'")
            c.execute(f"PRAGMA schema_version={v + 1}")
            """
        let (rc, out) = try await Spawned.run("/usr/bin/python3", ["-c", damage, path])
        #expect(rc == 0, "\(out)")
    }

    static let fridgeAndCabinet = """
        [[device]]
        id = "fridge"
        profile = "fridge-basic"
        bus = "tcp"
        unit = 3
        interval = "200ms"

        [[device]]
        id = "cabinet"
        profile = "charger-cabinet-4slot"
        bus = "tcp"
        unit = 9
        interval = "200ms"

        [[slot]]
        id = "slot-1"
        relay = "cabinet.slot1_relay"
        temperature = "cabinet.slot1_temp"
        max_temperature = 60.0

        [[slot]]
        id = "slot-2"
        relay = "cabinet.slot2_relay"
        temperature = "cabinet.slot2_temp"
        max_temperature = 60.0

        [[alert]]
        name = "FridgeDoorOpen"
        device = "fridge"
        when = "door_open"
        severity = "warning"

        """

    static func station(_ extra: String = "") throws -> TestStation {
        try TestStation(
            tcpUnits: [1],
            extraProfiles: [
                "fridge-basic": try shippedProfile("fridge-basic"),
                "charger-cabinet-4slot": try shippedProfile("charger-cabinet-4slot"),
            ], extraConfig: fridgeAndCabinet + extra)
    }

    func firing(_ r: StationRun) throws -> [String] {
        try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.compactMap { $0["name"]?.string } ?? []
    }

    @Test("a damaged database at start is kept aside, a fresh one made, an alert raised, every slot held off")
    func corruptAtStart() async throws {
        let s = try Self.station()
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: s.dir + "/station.db"))
        let r = try await StationRun(s, waitForOnline: ["cabinet"])
        let kept = try FileManager.default.contentsOfDirectory(atPath: s.dir).filter {
            $0.hasPrefix("station.db.corrupt-")
        }
        #expect(!kept.isEmpty, "the damaged file is kept")
        try await r.daemon.waitFor("slots held off") {
            try s.simulator.value(device: "cabinet", point: "slot1_relay") == 0
                && s.simulator.value(device: "cabinet", point: "slot2_relay") == 0
        }
        try await r.daemon.waitFor("StorageRecovered") { try firing(r).contains("StorageRecovered") }
        #expect(try r.call("ListAlerts")["latched_slots"]?.array?.count == 2)
        // The latches' kind is a value, stored with them: a restart (onto the fresh, healthy file)
        // still shows a storage-recovery latch, not the overheat its words were once taken for.
        func kinds() throws -> [[String?]] {
            let listed = try r.call("ListAlerts")["latched_slots"]?.array?.map { $0["kind"]?.string } ?? []
            let kiosk = try r.call("GetKioskStatus")["kiosk"]?["slots"]?.array?.map { $0["interlock"]?.string } ?? []
            let metrics = try r.call("GetMetrics")["metrics"]?["slots"]?.array?.map { $0["kind"]?.string } ?? []
            return [listed, kiosk, metrics]
        }
        let recovered = Array(repeating: "storage_recovered" as String?, count: 2)
        #expect(try kinds() == [recovered, recovered, recovered])
        try await r.restart()
        #expect(try kinds() == [recovered, recovered, recovered], "after a restart")
        #expect(try r.call("GetKioskStatus")["kiosk"]?["slots"]?.array?.map { $0["reason"]?.string } == recovered)
        // It polls and protects: values are fresh.
        try await r.waitForPolls("cabinet", cycles: 3)
        _ = try await eventually { try r.call("EnableSlot", ["slot": "slot-1"]) }
        #expect(try s.simulator.value(device: "cabinet", point: "slot1_relay") == 1)
    }

    @Test("a database from a newer version is refused with a clear message")
    func newerSchema() async throws {
        let s = try Self.station()
        let db = try openDatabase(s.dir + "/station.db")
        try db.readNow { _ in }
        _ = try await db.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        let (status, output) = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", s.configPath], timeout: .seconds(30))
        #expect(status == 1, "\(output)")
        #expect(output.contains("newer waystationd") && output.contains("v99: from the future"), "\(output)")
    }

    @Test(
        "damage while running: self-test and an alert say so, the watchdog stops (systemd then restarts onto a fresh file)"
    )
    func corruptWhileRunning() async throws {
        let s = try Self.station()
        let r = try await StationRun(s, waitForOnline: ["cabinet"])
        _ = try r.call("CheckIn", ["worker": "A-1", "category": "courier"])
        #expect(try r.call("SelfTest")["storage_ok"]?.bool == true)
        try await Self.damageVisitTable(s.dir + "/station.db")
        let test = try r.call("SelfTest")
        #expect(test["storage_ok"]?.bool == false, "\(test)")
        #expect(test["storage_error"]?.string?.contains("damaged") == true, "\(test)")
        try await r.daemon.waitFor("StorageFailing") { try firing(r).contains("StorageFailing") }
        #expect(try r.call("GetStatus")["storage_ok"]?.bool == false)
        try await r.daemon.waitFor("watchdog withheld") { r.daemon.log.contains("watchdog ping withheld") }
    }

    @Test(
        "disk full: polling and the interlocks go on, the socket answers, alerts are kept; writes resume, nothing lost")
    func diskFull() async throws {
        let receiver = try WebhookReceiver()
        let s = try Self.station(
            "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nurl = \"http://127.0.0.1:\(receiver.port)/h\"\n")
        let disk = s.dir + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = try await Spawned.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", disk])
        try #require(mount.0 == 0, "cannot mount a tmpfs here: \(mount.1)")
        defer { Task { _ = try? await Spawned.run("/usr/bin/umount", ["-l", disk]) } }
        let text = try String(contentsOfFile: s.configPath, encoding: .utf8)
            .replacingOccurrences(of: "path = \"station.db\"", with: "path = \"disk/station.db\"")
        try text.write(toFile: s.configPath, atomically: true, encoding: .utf8)
        let r = try await StationRun(s, waitForOnline: ["fridge", "cabinet"])
        // Fill the disk.
        let filler = disk + "/filler"
        _ = try await Spawned.run("/usr/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        let sim = s.simulator
        var door = 1.0
        for _ in 0..<3 {
            try sim.set(device: "fridge", point: "door_open", value: door)
            let want = door == 1 ? "firing" : "resolved"
            try await r.daemon.waitFor("door alert \(want)") {
                try r.call("ListAlerts")["alerts"]?.array?.contains {
                    $0["name"]?.string == "FridgeDoorOpen" && $0["state"]?.string == want
                } == true
            }
            door = 1 - door
        }
        try await r.daemon.waitFor("storage reported failing") { try r.call("GetStatus")["storage_ok"]?.bool == false }
        #expect(try r.call("GetStatus")["storage_error"]?.string?.contains("full") == true)
        try await r.waitForPolls("fridge", cycles: 5)  // polling goes on
        try sim.set(device: "cabinet", point: "slot1_temp", value: 75, hold: true)
        try await r.daemon.waitFor("interlock on a full disk") {
            try sim.value(device: "cabinet", point: "slot1_relay") == 0
        }
        #expect(try firing(r).contains("StorageFailing"))
        #expect(
            receiver.requests.isEmpty
                || !receiver.requests.contains { String(decoding: $0.body, as: UTF8.self).contains("FridgeDoorOpen") })
        // Space returns: writes resume, and every transition reaches the receiver, in order, once.
        try FileManager.default.removeItem(atPath: filler)
        try await r.daemon.waitFor("storage ok again", within: .seconds(30)) {
            try r.call("GetStatus")["storage_ok"]?.bool == true
        }
        try await r.daemon.waitFor("notifications delivered", within: .seconds(30)) {
            receiver.requests.filter { String(decoding: $0.body, as: UTF8.self).contains("FridgeDoorOpen") }.count >= 3
        }
        let door3 = receiver.requests.compactMap { req -> String? in
            guard let j = JSON.parse(req.body),
                j["alerts"]?.array?.first?["labels"]?["alertname"]?.string == "FridgeDoorOpen"
            else { return nil }
            return j["status"]?.string
        }
        #expect(door3 == ["firing", "resolved", "firing"])
        // The slot's latch reached the disk too.
        r.daemon.signal(SIGTERM)
        #expect(try await r.daemon.waitForExit() == 0)
        let db = try openDatabase(disk + "/station.db")
        #expect(try db.readNow { try String.fetchAll($0, sql: "SELECT slot FROM slot_lock") } == ["slot-1"])
        #expect(try db.integrityCheck() == "ok")
    }

    @Test("a second daemon on the same state is refused, naming the first; the first keeps its socket")
    func secondDaemon() async throws {
        let s = try Self.station()
        let r = try await StationRun(s)
        let (status, output) = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", s.configPath], timeout: .seconds(30))
        #expect(status == 1)
        #expect(output.contains("another waystationd (pid \(r.daemon.process.pid))"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: r.socket))
        #expect(try r.call("GetStatus")["station"] != nil)
    }

    @Test("the visit secret: a readable-by-others file is refused; an empty one (a crash) is replaced")
    func secretFile() async throws {
        let s = try Self.station()
        let secret = s.dir + "/visit-secret"
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: secret))
        chmod(secret, 0o644)
        let (status, output) = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", s.configPath], timeout: .seconds(30))
        #expect(status == 1 && output.contains("chmod 600"), "\(output)")
        try Data().write(to: URL(fileURLWithPath: secret))
        chmod(secret, 0o600)
        let r = try await StationRun(s)
        #expect(try r.call("CheckIn", ["worker": "B-2", "category": "courier"])["occupancy"]?.number == 1)
        let data = try #require(FileManager.default.contents(atPath: secret))
        #expect(data.count == 32)
    }

    @Test(
        "a clock in 1970, years ahead, or that just jumped never prunes history or visits (real SQLite, injected clock)"
    )
    func clock() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ws-clock-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try openDatabase(dir + "/s.db")
        let history = HistoryStore(database: db)
        let visits = VisitStore(database: db)
        let now = Date()
        var record = HistoryStore.CycleRecord()
        for minutes in [30.0, 10, 1] {
            record.values.append(
                .init(series: .init(device: "d", point: "p"), at: now.addingTimeInterval(-minutes * 60), value: minutes)
            )
        }
        try await history.write(record)
        _ = try await visits.checkIn(worker: "w", category: "courier", source: nil, at: now.addingTimeInterval(-600))
        // Five years ahead: pruning would delete everything, so it refuses.
        let ahead = now.addingTimeInterval(5 * 366 * 86400)
        await #expect(throws: ClockLooksWrong.self) {
            _ = try await history.prune(now: ahead, retainValues: 14 * 86400, retainAggregates: 400 * 86400)
        }
        let (_, deleted) = try await visits.maintain(
            now: ahead, maxStay: 12 * 3600, retainSince: ahead.addingTimeInterval(-90 * 86400))
        #expect(deleted == 0)
        #expect(try history.valueCount(device: "d", point: "p") == 3)
        #expect(try await visits.visits(since: nil, until: nil, activeOnly: false).count == 1)
        // The guard: 1970 is implausible; a jump (wall clock moved far more than the monotonic one) is
        // distrusted for an hour; a steady clock is trusted.
        var guardian = ClockGuard()
        let t0 = ContinuousClock.now
        #expect(guardian.distrust(now: Date(timeIntervalSince1970: 86400), mono: t0) != nil)
        #expect(guardian.distrust(now: now, mono: t0 + .seconds(10)) != nil, "a jump from 1970 to today")
        #expect(
            guardian.distrust(now: now.addingTimeInterval(1800), mono: t0 + .seconds(1810)) != nil, "within the hour")
        #expect(guardian.distrust(now: now.addingTimeInterval(3700), mono: t0 + .seconds(3710)) == nil)
        var steady = ClockGuard()
        #expect(steady.distrust(now: now, mono: t0) == nil)
        #expect(steady.distrust(now: now.addingTimeInterval(60), mono: t0 + .seconds(60)) == nil)
    }
}
