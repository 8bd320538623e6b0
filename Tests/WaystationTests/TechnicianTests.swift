import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationProtocol
import WaystationWeb

/// `waystationctl history` and `events` against the real daemon polling the real simulator.
@Suite("The technician at the station: history, events, silences", .serialized)
struct TechnicianTests {
    /// A station with the shipped fridge on the simulator, its history flushed only every hour: what
    /// the last hour holds is (until shutdown) all in the daemon's memory.
    static func fridgeStation() throws -> TestStation {
        try TestStation(
            tcpUnits: [], extraProfiles: ["fridge-carel-ir33": try shippedProfile("fridge-carel-ir33")],
            extraConfig:
                "[[device]]\nid = \"fridge\"\nprofile = \"fridge-carel-ir33\"\nbus = \"tcp\"\nunit = 3\ninterval = \"1s\"\n",
            flushInterval: "1h")
    }

    static func ctl(_ run: StationRun, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Spawned.run(DaemonProcess.binDir + "/waystationctl", ["--socket", run.socket] + arguments)
    }

    static func cabinetTemp(_ run: StationRun) throws -> Double? {
        let points = try run.call("GetDevice", ["id": "fridge"])["device"]?["points"]?.array ?? []
        return points.first { $0["name"]?.string == "cabinet_temp" }?["value"]?.number
    }

    @Test("history fridge cabinet_temp --since 1h shows the values the simulator produced, before and after a flush")
    func historyShowsProducedValues() async throws {
        let station = try Self.fridgeStation()
        let sim = station.simulator
        // Held from the start: every value the daemon can read is one of these.
        let produced = [4.5, 6.2, 8.3, 3.1, 5.6]
        try sim.set(device: "fridge", point: "cabinet_temp", value: produced[0], hold: true)
        let run = try await StationRun(station, waitForOnline: ["fridge"])
        for v in produced {
            try sim.set(device: "fridge", point: "cabinet_temp", value: v, hold: true)
            #expect(try sim.value(device: "fridge", point: "cabinet_temp") == v)
            try await run.daemon.waitFor("the daemon reads \(v)") {
                (try Self.cabinetTemp(run)).map { abs($0 - v) < 1e-6 } ?? false
            }
        }

        func check(_ when: String) async throws {
            let json = try await Self.ctl(run, ["--json", "history", "fridge", "cabinet_temp", "--since", "1h"])
            #expect(json.status == 0, "\(when): \(json.output)")
            let reply = try #require(JSON.parse(Data(json.output.utf8)), "\(when): \(json.output)")
            let steps = reply["steps"]?.array ?? []
            #expect(reply["step"]?.number == 60 && (60...61).contains(steps.count), "\(when)")
            #expect(reply["unit"]?.string == "°C")
            let filled = steps.filter { ($0["count"]?.number ?? 0) > 0 }
            let mins = filled.compactMap { $0["min"]?.number }, maxes = filled.compactMap { $0["max"]?.number }
            // Every step's min and max is a value the simulator served; the hour holds them all.
            for v in mins + maxes {
                #expect(produced.contains { abs($0 - v) < 1e-6 }, "\(when): \(v) was never produced")
            }
            for v in produced {
                #expect(
                    (mins + maxes).contains { abs($0 - v) < 1e-6 }
                        || filled.contains { s in
                            (s["min"]?.number ?? .infinity) < v && v < (s["max"]?.number ?? -.infinity)
                        }, "\(when): \(v) missing")
            }
            #expect(abs((mins.min() ?? 0) - 3.1) < 1e-6 && abs((maxes.max() ?? 0) - 8.3) < 1e-6, "\(when)")
            // The times carry the station's offset.
            #expect(steps.first?["at"]?.string?.count == 25 || steps.first?["at"]?.string?.hasSuffix("Z") == true)
            let human = try await Self.ctl(run, ["history", "fridge", "cabinet_temp", "--since", "1h"])
            #expect(human.status == 0)
            #expect(human.output.contains("3.1…8.3 °C"), "\(when): \(human.output)")
            #expect(human.output.contains("█") && human.output.contains("MIN"), "\(when)")
            let csv = try await Self.ctl(run, ["history", "fridge", "cabinet_temp", "--since", "1h", "--csv"])
            #expect(csv.output.hasPrefix("time,min,avg,max,count\n") && csv.output.contains(",8.3,"), "\(when)")
        }
        // Nothing flushed yet (flush_interval = 1h): the values come from the daemon's memory.
        try await check("in memory")
        // After a restart everything comes from storage.
        try await run.restart()
        try await check("after restart")

        // LAST GOOD after a restart with the fridge not answering: its last reading from storage.
        try sim.setFault(device: "fridge", .silent)
        try await run.restart()
        let devices = try await Self.ctl(run, ["devices"])
        let row = devices.output.split(separator: "\n").first { $0.hasPrefix("fridge") }.map(String.init) ?? ""
        #expect(row.contains(" ago") && !row.contains("never"), "\(devices.output)")
        try sim.setFault(device: "fridge", nil)

        let unknown = try await Self.ctl(run, ["history", "fridge", "nope"])
        #expect(unknown.status == 1 && unknown.output.contains("nope"))
        // An unknown point or device lists the valid ones.
        #expect(unknown.output.contains("points of fridge: ") && unknown.output.contains("cabinet_temp"))
        let device = try await Self.ctl(run, ["device", "fridgee"])
        #expect(device.status == 1 && device.output.contains("devices: fridge"), "\(device.output)")
        let badStep = try await Self.ctl(run, ["history", "fridge", "cabinet_temp", "--step", "0s"])
        #expect(badStep.status != 0)
    }

    @Test("events lists a device's state changes and maintenance, newest first")
    func events() async throws {
        let station = try Self.fridgeStation()
        let run = try await StationRun(station, waitForOnline: ["fridge"])
        _ = try run.call("SetMaintenance", ["device": "fridge", "enabled": true, "reason": "door seal"])
        let out = try await Self.ctl(run, ["events", "fridge"])
        #expect(out.status == 0, "\(out.output)")
        let lines = out.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("TIME") == true)
        let maintenance = lines.firstIndex { $0.contains("maintenance") && $0.contains("on: door seal") }
        let online = lines.firstIndex { $0.contains("state") && $0.contains("→ online") }
        #expect(maintenance != nil && online != nil && (maintenance ?? 0) < (online ?? 0), "\(out.output)")
        let json = try await Self.ctl(run, ["--json", "events", "fridge", "--since", "1h"])
        let events = JSON.parse(Data(json.output.utf8))?["events"]?.array ?? []
        #expect(events.contains { $0["kind"]?.string == "state" && $0["to"]?.string == "online" })
        #expect(try await Self.ctl(run, ["events", "nope"]).status == 1)
    }

    @Test("silences lists them, silence expire ends one, a matcher that matches nothing is refused with the names")
    func silences() async throws {
        let station = try Self.fridgeStation()
        let run = try await StationRun(station, waitForOnline: ["fridge"])
        let typo = try await Self.ctl(run, ["silence", "device=fridgee", "--for", "1h"])
        #expect(
            typo.status == 1 && typo.output.contains("device=fridgee") && typo.output.contains("fridge, station"),
            "\(typo.output)")
        let rule = try await Self.ctl(run, ["silence", "alertname=FridgeTooHot", "--for", "1h"])
        #expect(rule.status == 1 && rule.output.contains("FridgeTooWarm"), "\(rule.output)")
        let label = try await Self.ctl(run, ["silence", "room=3", "--for", "1h"])
        #expect(label.status == 1 && label.output.contains("alertname"), "\(label.output)")
        #expect(try await Self.ctl(run, ["silences"]).output.contains("no silences"))

        let added = try await Self.ctl(
            run, ["silence", "device=fridge", "alertname=FridgeDoorOpen", "--for", "2h", "--comment", "door repair"])
        #expect(added.status == 0, "\(added.output)")
        let listed = try await Self.ctl(run, ["silences"])
        let row = listed.output.split(separator: "\n").first { $0.contains("door repair") }.map(String.init) ?? ""
        #expect(row.contains("alertname=FridgeDoorOpen device=fridge"), "\(listed.output)")
        let id = try #require(row.split(separator: " ").first.map(String.init))
        let json = try await Self.ctl(run, ["--json", "silences"])
        #expect(
            JSON.parse(Data(json.output.utf8))?["silences"]?.array?.first?["until"]?.string?.count == 25
                || json.output.contains("Z\""))

        #expect(try await Self.ctl(run, ["silence", "expire", id]).status == 0)
        #expect(try await Self.ctl(run, ["silences"]).output.contains("no silences"))
        let again = try await Self.ctl(run, ["silence", "expire", id])
        #expect(again.status == 1 && again.output.contains("no silence \(id)"), "\(again.output)")
        let audit = try run.call("ListAudit")["entries"]?.array ?? []
        #expect(audit.contains { $0["action"]?.string == "silence-expire" })
    }

    @Test("a reload's audit entry lists the keys that changed; maintenance keeps its reason, shown apart from errors")
    func reloadAndMaintenance() async throws {
        let station = try Self.fridgeStation()
        let run = try await StationRun(station, waitForOnline: ["fridge"])
        _ = try await Self.ctl(run, ["maintenance", "fridge", "on", "--reason", "door seal"])
        let again = try await Self.ctl(run, ["maintenance", "fridge", "on"])
        #expect(again.status == 0)
        let d = try run.call("GetDevice", ["id": "fridge"])["device"]?["device"]
        #expect(d?["maintenance_reason"]?.string == "door seal")
        let devices = try await Self.ctl(run, ["devices"])
        let lines = devices.output.split(separator: "\n").map(String.init)
        let header = try #require(lines.first), row = try #require(lines.first { $0.hasPrefix("fridge") })
        // The reason sits in the STATE column, not under LAST ERROR.
        let errorColumn = try #require(header.range(of: "LAST ERROR")).lowerBound.utf16Offset(in: header)
        #expect(row.contains("maintenance (door seal)"), "\(devices.output)")
        #expect(!(String(row.utf16.dropFirst(errorColumn)) ?? "").contains("door seal"), "\(devices.output)")

        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "capacity = 4", with: "capacity = 6")
            .replacingOccurrences(of: "unit = 3\ninterval = \"1s\"", with: "unit = 3\ninterval = \"2s\"")
            .write(toFile: station.configPath, atomically: true, encoding: .utf8)
        #expect(try await Self.ctl(run, ["reload"]).status == 0)
        let entry = try run.call("ListAudit", ["limit": 1])["entries"]?.array?.first
        let new = entry?["new"]?.string ?? ""
        #expect(entry?["action"]?.string == "reload")
        #expect(
            new.contains("station.capacity: 4 → 6") && new.contains("device[fridge].interval: \"1s\" → \"2s\""),
            "\(new)")
        #expect(!new.contains("storage"), "\(new)")
        #expect(try await Self.ctl(run, ["reload"]).status == 0)
        #expect(
            try run.call("ListAudit", ["limit": 1])["entries"]?.array?.first?["new"]?.string
                == "applied, nothing changed")
    }

    @Test("[station] time_zone: stats days, audit and history times are the station's local time, with the offset")
    func stationTimeZone() async throws {
        let station = try Self.fridgeStation()
        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "capacity = 4", with: "capacity = 4\ntime_zone = \"Asia/Shanghai\"")
            .write(toFile: station.configPath, atomically: true, encoding: .utf8)
        // The daemon's own environment says UTC: the config decides.
        let run = try await StationRun(station, environment: ["TZ": "UTC"], waitForOnline: ["fridge"])
        let stats = try await Self.ctl(run, ["--json", "stats", "--from", "2026-03-02", "--to", "2026-03-03"])
        let s = JSON.parse(Data(stats.output.utf8))?["stats"]
        #expect(s?["from"]?.string == "2026-03-02T00:00:00+08:00", "\(stats.output)")
        #expect(s?["to"]?.string == "2026-03-03T00:00:00+08:00")
        _ = try await Self.ctl(run, ["maintenance", "fridge", "on", "--reason", "x"])
        let audit = try run.call("ListAudit", ["limit": 1])["entries"]?.array?.first?["at"]?.string ?? ""
        #expect(audit.hasSuffix("+08:00"), "\(audit)")
        let history = try await Self.ctl(
            run, ["--json", "history", "fridge", "cabinet_temp", "--since", "1d", "--step", "1d"])
        // One step per local day: it starts at local midnight.
        let first = JSON.parse(Data(history.output.utf8))?["steps"]?.array?.first?["at"]?.string ?? ""
        #expect(first.hasSuffix("T00:00:00+08:00"), "\(history.output)")
        // The CLI reads the times it is given: "LAST GOOD" is seconds ago, not 8 hours.
        let devices = try await Self.ctl(run, ["devices"])
        #expect(
            devices.output.contains("s ago") && !devices.output.contains("7h") && !devices.output.contains("8h"),
            "\(devices.output)")

        let bad = try TestStation(tcpUnits: [1])
        let badText = try String(contentsOfFile: bad.configPath, encoding: .utf8)
        try badText.replacingOccurrences(of: "capacity = 4", with: "capacity = 4\ntime_zone = \"Asia/Wuhan\"")
            .write(toFile: bad.configPath, atomically: true, encoding: .utf8)
        let check = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", bad.configPath, "--check-config"])
        #expect(check.0 != 0 && check.1.contains("time_zone") && check.1.contains("Asia/Wuhan"), "\(check.1)")
    }

    @Test("--socket and --json before the subcommand; permission denied names the group to join")
    func globalsAndPermissions() async throws {
        let station = try TestStation(tcpUnits: [1], control: "admin_group = \"adm\"")
        let run = try await StationRun(station, waitForOnline: ["t1"])
        let ctl = DaemonProcess.binDir + "/waystationctl"
        let first = try await Spawned.run(ctl, ["--socket", run.socket, "status"])
        #expect(first.0 == 0 && first.1.contains("t1"), "\(first.1)")
        let json = try await Spawned.run(ctl, ["--json", "--socket=\(run.socket)", "devices"])
        #expect(JSON.parse(Data(json.1.utf8))?["devices"]?.array?.count == 1, "\(json.1)")

        // Another user: the socket (0660) refuses it, and the message names the socket's group.
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", ctl, "--socket", run.socket]
        let refused = try await Spawned.run("/usr/bin/setpriv", nobody + ["status"])
        var info = stat()
        _ = stat(run.socket, &info)
        let group = String(cString: getgrgid(info.st_gid).pointee.gr_name)
        #expect(refused.0 == 2 && refused.1.contains("join the group \"\(group)\""), "\(refused.1)")
        chmod(run.socket, 0o666)
        let denied = try await Spawned.run("/usr/bin/setpriv", nobody + ["maintenance", "t1", "on"])
        #expect(denied.0 == 1 && denied.1.contains("join the group \"adm\""), "\(denied.1)")
    }

    @Test("tables align by display width: Chinese characters take two columns")
    func displayWidth() {
        #expect(TextTable.width("冰箱温度") == 8 && TextTable.width("fridge") == 6 && TextTable.width("e\u{301}") == 1)
        let table = TextTable.render([["类别", "NOTE"], ["外卖骑手", "ok"], ["courier", "ok"]])
        // Where the last column starts, in terminal columns: the same on every line.
        let columns = zip(table.split(separator: "\n"), ["NOTE", "ok", "ok"]).map { line, last in
            TextTable.width(String(line)) - TextTable.width(last)
        }
        #expect(Set(columns).count == 1, "\(table)")
    }

    @Test("metrics: name and address on build_info, the riders of the local calendar day")
    func districtNumbers() async throws {
        let station = try Self.fridgeStation()
        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
        try text.replacingOccurrences(
            of: "capacity = 4", with: "capacity = 4\naddress = \"汉阳区 鹦鹉大道 1 号\"\ndistrict = \"hanyang\""
        )
        .write(toFile: station.configPath, atomically: true, encoding: .utf8)
        let run = try await StationRun(station, waitForOnline: ["fridge"])
        for worker in ["13800000001", "13800000002", "13800000001"] {
            _ = try run.call("CheckIn", ["worker": .string(worker), "category": "courier"])
            _ = try run.call("CheckOut", ["worker": .string(worker)])
        }
        let reply = try run.call("GetMetrics")
        let metrics = try #require(try? VarlinkClient.decode(GetMetrics.Reply.self, reply)).metrics
        #expect(metrics.today?.checkIns == 3 && metrics.today?.checkOuts == 3 && metrics.today?.uniqueRiders == 2)
        let page = MetricsExposition.render(
            metrics, identity: .init(version: "x", station: "test", district: "hanyang"))
        #expect(page.contains("name=\"Test station\"") && page.contains("address=\"汉阳区 鹦鹉大道 1 号\""), "\(page)")
        #expect(page.contains("waystation_day_unique_riders 2"), "\(page)")
        #expect(page.contains("waystation_day_checkouts 3"))
        var tripped = metrics
        tripped.slots = [
            SlotInterlock(slot: "slot-1", interlocked: true, kind: .overheated),
            SlotInterlock(slot: "slot-2", interlocked: false),
        ]
        let trippedPage = MetricsExposition.render(tripped, identity: .init(version: "x", station: "t", district: nil))
        #expect(
            trippedPage.contains("waystation_slot_interlocked{slot=\"slot-1\",reason=\"overheated\"} 1")
                || trippedPage.contains("waystation_slot_interlocked{reason=\"overheated\",slot=\"slot-1\"} 1"),
            "\(trippedPage)")
    }

    @Test("reports table: category names, who judged and the notes, aligned with Chinese text")
    func reportsTable() async throws {
        let station = try TestStation(
            tcpUnits: [1],
            extraConfig: """
                [[hazard]]
                id = "manhole_cover"
                name = "井盖破损"
                name_en = "Broken manhole cover"
                points = 10

                """)
        let run = try await StationRun(station, waitForOnline: ["t1"])
        let scan = try run.call("KioskScan", ["worker": "13800000009", "category": "courier"])
        let session = try #require(scan["session"]?.string)
        let filed = try run.call(
            "SubmitReport",
            ["session": .string(session), "category": "manhole_cover", "location": "汉阳大道口", "note": "很深"])
        let id = try #require(filed["report"]?["id"]?.number)
        _ = try run.call("JudgeReport", ["id": .number(id), "verdict": "verified", "note": "已修"])
        let out = try await Self.ctl(run, ["reports"])
        #expect(out.status == 0, "\(out.output)")
        let lines = out.output.split(separator: "\n").map(String.init)
        let header = try #require(lines.first), row = try #require(lines.dropFirst().first)
        #expect(row.contains("井盖破损 (Broken manhole cover)") && row.contains("root"), "\(out.output)")
        #expect(row.hasSuffix("很深 / judge: 已修"), "\(out.output)")
        #expect(header.contains("JUDGED BY"))
        // NOTE starts in the same terminal column on both lines.
        let headerNote = TextTable.width(header) - TextTable.width("NOTE")
        let rowNote = TextTable.width(row) - TextTable.width("很深 / judge: 已修")
        #expect(headerNote == rowNote, "\(out.output)")
    }

    @Test("alerts: firing first, the most severe first; resolved ones apart")
    func alertsOrder() async throws {
        let rule = { (name: String, when: String, severity: String) in
            "[[alert]]\nname = \"\(name)\"\ndevice = \"t1\"\nwhen = \"\(when)\"\nfor = \"0s\"\nseverity = \"\(severity)\"\n"
        }
        let station = try TestStation(
            tcpUnits: [1],
            extraConfig: rule("AInfo", "u16 > 1000", "info") + rule("BWarning", "h0 > 40", "warning")
                + rule("CCritical", "u32 > 1", "critical") + rule("DGone", "after_hole > 70", "critical"))
        let run = try await StationRun(station, waitForOnline: ["t1"])
        func states() throws -> [String: String] {
            var out: [String: String] = [:]
            for a in try run.call("ListAlerts")["alerts"]?.array ?? [] {
                out[a["name"]?.string ?? ""] = a["state"]?.string
            }
            return out
        }
        try await run.daemon.waitFor("four alerts firing") { try states().values.filter { $0 == "firing" }.count == 4 }
        try station.simulator.set(device: "t1", point: "after_hole", value: 1)
        try await run.daemon.waitFor("DGone resolved") { try states()["DGone"] == "resolved" }
        let out = try await Self.ctl(run, ["alerts"])
        let names = out.output.split(separator: "\n").compactMap { line in
            ["AInfo", "BWarning", "CCritical", "DGone", "resolved:"].first { line.contains($0) }
        }
        #expect(names == ["CCritical", "BWarning", "AInfo", "resolved:", "DGone"], "\(out.output)")
    }
}
