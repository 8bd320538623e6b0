import Foundation
import TestSupport
import Testing
import WaystationControl
import WaystationCore
import WaystationSim

/// Alerts, notifications and the charging-slot interlocks, through the real daemon, the simulator
/// and a real HTTP receiver.
@Suite("Alerts and interlocks", .serialized)
struct AlertTests {
    static let iface = "io.waystation.Station"

    static func profile(_ name: String) throws -> String {
        try String(contentsOfFile: DaemonProcess.repo + "/devices/\(name).toml", encoding: .utf8)
    }

    final class Running: @unchecked Sendable {
        // @unchecked: set in init; `daemon` replaced only by restart() from the test's task.
        let station: TestStation
        let receiver: WebhookReceiver
        var daemon: DaemonProcess
        var socket: String { station.dir + "/control.sock" }

        init(receiver: WebhookReceiver) async throws {
            self.receiver = receiver
            let extra = """
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
                current = "cabinet.slot1_current"
                battery_present = "cabinet.slot1_battery"

                [[slot]]
                id = "slot-2"
                relay = "cabinet.slot2_relay"
                temperature = "cabinet.slot2_temp"
                max_temperature = 60.0

                [[slot]]
                id = "slot-3"
                relay = "cabinet.slot3_relay"
                temperature = "cabinet.slot3_temp"
                max_temperature = 60.0

                [interlock]
                smoke = ["cabinet.smoke"]

                [[alert]]
                name = "FridgeDoorOpen"
                device = "fridge"
                when = "door_open"
                for = "3s"
                severity = "warning"
                summary = "Fridge {device} door open"

                [[notify]]
                kind = "webhook"
                name = "district"
                url = "http://127.0.0.1:\(receiver.port)/hook"

                """
            station = try TestStation(
                tcpUnits: [1],
                extraProfiles: [
                    "fridge-basic": try AlertTests.profile("fridge-basic"),
                    "charger-cabinet-4slot": try AlertTests.profile("charger-cabinet-4slot"),
                ], extraConfig: extra)
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            let d = daemon
            try await d.waitFor("READY=1") { d.count("READY=1") >= 1 }
        }

        func restart() async throws {
            daemon.signal(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
            let d = daemon
            try await d.waitFor("READY=1 after restart") { d.count("READY=1") >= 1 }
        }

        func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
            try VarlinkClient(path: socket).call("\(AlertTests.iface).\(method)", parameters)
        }

        /// (status, alertname) of every webhook received, in order.
        var deliveries: [(String, String)] {
            receiver.requests.compactMap { r in
                guard let j = JSON.parse(r.body), let status = j["status"]?.string,
                    let name = j["alerts"]?.array?.first?["labels"]?["alertname"]?.string
                else { return nil }
                return (status, name)
            }
        }

        func doorDeliveries() -> [String] { deliveries.filter { $0.1 == "FridgeDoorOpen" }.map(\.0) }

        /// Waits until the daemon has polled `device` `cycles` more times (each poll of these
        /// profiles is several requests): the daemon's own progress, instead of a fixed sleep, before
        /// checking that something did NOT happen.
        func waitForPolls(_ device: String, cycles: Int) async throws {
            let sim = station.simulator
            let start = try sim.servedCount(device: device)
            try await daemon.waitFor("\(cycles) polls of \(device)") {
                try sim.servedCount(device: device) >= start + cycles * 2
            }
        }
    }

    @Test("fridge door: pending, firing after `for`, resolved; the receiver gets firing then resolved")
    func fridgeDoor() async throws {
        let receiver = try WebhookReceiver()
        let r = try await Running(receiver: receiver)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("pending") {
            try r.call("ListAlerts", ["state": "pending"])["alerts"]?.array?.contains {
                $0["name"]?.string == "FridgeDoorOpen"
            } == true
        }
        #expect(r.doorDeliveries().isEmpty)  // nothing is sent while pending
        try await r.daemon.waitFor("firing delivered") { r.doorDeliveries() == ["firing"] }
        let firing = try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.first {
            $0["name"]?.string == "FridgeDoorOpen"
        }
        // The device named like the word before it is not said twice ("Fridge fridge").
        #expect(firing?["summary"]?.string == "Fridge door open")
        let body = try #require(r.receiver.requests.last.flatMap { JSON.parse($0.body) })
        #expect(body["version"]?.string == "4")
        #expect(body["alerts"]?.array?.first?["labels"]?["device"]?.string == "fridge")
        #expect(try r.call("GetStatus")["active_alerts"]?.number ?? 0 >= 1)

        try r.station.simulator.set(device: "fridge", point: "door_open", value: 0)
        try await r.daemon.waitFor("resolved delivered") { r.doorDeliveries() == ["firing", "resolved"] }
        #expect(r.daemon.log.contains("alert firing") && r.daemon.log.contains("alert resolved"))
    }

    @Test("receiver down across a restart: later delivery, in order, none twice, none lost; no second firing")
    func outbox() async throws {
        let receiver = try WebhookReceiver()
        receiver.setRefusing(true)
        let r = try await Running(receiver: receiver)
        // firing, resolved, firing while the receiver refuses.
        for (i, open) in [1.0, 0, 1].enumerated() {
            try r.station.simulator.set(device: "fridge", point: "door_open", value: open)
            let want = open == 1 ? "firing" : "resolved"
            try await r.daemon.waitFor("transition \(i)") {
                try r.call("ListAlerts")["alerts"]?.array?.contains {
                    $0["name"]?.string == "FridgeDoorOpen" && $0["state"]?.string == want
                } == true
            }
        }
        #expect(r.doorDeliveries().isEmpty)
        try await r.restart()
        // Still firing after the restart: restored, not re-notified (five poll cycles later).
        try await r.waitForPolls("fridge", cycles: 5)
        #expect(
            try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.contains {
                $0["name"]?.string == "FridgeDoorOpen"
            } == true)
        receiver.setRefusing(false)
        try await r.daemon.waitFor("backlog delivered") { r.doorDeliveries().count >= 3 }
        try await r.waitForPolls("fridge", cycles: 10)
        #expect(r.doorDeliveries() == ["firing", "resolved", "firing"])

        // A restart while firing sends no second "firing".
        try await r.restart()
        try await r.waitForPolls("fridge", cycles: 10)
        #expect(r.doorDeliveries() == ["firing", "resolved", "firing"])
    }

    @Test("a slot past its limit is switched off within one poll cycle and stays off until EnableSlot")
    func overheat() async throws {
        let receiver = try WebhookReceiver()
        let r = try await Running(receiver: receiver)
        let sim = r.station.simulator
        try await r.daemon.waitFor("cabinet online") {
            try r.call("GetDevice", ["id": "cabinet"])["device"]?["device"]?["state"]?.string == "online"
        }
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 1)
        let served0 = try sim.servedCount(device: "cabinet")
        try sim.set(device: "cabinet", point: "slot1_temp", value: 75, hold: true)
        try await r.daemon.waitFor("relay off") { try sim.value(device: "cabinet", point: "slot1_relay") == 0 }
        // At most the rest of the cycle in flight and the cycle that read 75 °C (4 reads each), then
        // the write: counted at the write itself, so a slow machine's later look adds nothing.
        let atWrite = try #require(try sim.servedAtWrites(device: "cabinet").first { $0 > served0 })
        #expect(atWrite - served0 <= 4 + 4 + 1)
        #expect(try sim.value(device: "cabinet", point: "slot2_relay") == 1)

        try await r.daemon.waitFor("interlock alert") {
            try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.contains {
                $0["name"]?.string == "SlotInterlock"
            } == true
        }
        let alerts = try r.call("ListAlerts", ["state": "firing"])
        let interlock = alerts["alerts"]?.array?.first { $0["name"]?.string == "SlotInterlock" }
        #expect(interlock?["severity"]?.string == "critical")
        #expect(interlock?["summary"]?.string?.contains("slot-1") == true)
        #expect(alerts["latched_slots"]?.array?.first?["slot"]?.string == "slot-1")
        try await r.daemon.waitFor("critical webhook") {
            r.deliveries.contains { $0.1 == "SlotInterlock" && $0.0 == "firing" }
        }

        // Someone switches it back on behind the daemon's back: it goes off again.
        try sim.set(device: "cabinet", point: "slot1_relay", value: 1)
        try await r.daemon.waitFor("latched relay off again") {
            try sim.value(device: "cabinet", point: "slot1_relay") == 0
        }

        // Still hot: EnableSlot is refused. Cooled: it is allowed and the relay is on.
        do {
            _ = try r.call("EnableSlot", ["slot": "slot-1"])
            Issue.record("EnableSlot should be refused while the slot is hot")
        } catch VarlinkClient.Failure.reply(let failure) {
            let error = failure.name
            #expect(error == "\(Self.iface).SlotUnsafe")
        }
        try sim.set(device: "cabinet", point: "slot1_temp", value: 30, hold: true)
        try await r.daemon.waitFor("cool value polled") {
            try r.call("ReadPoint", ["device": "cabinet", "point": "slot1_temp"])["point"]?["value"]?.number == 30
        }
        // Accepted once the daemon's own poll has seen the cool value.
        _ = try await eventually { try r.call("EnableSlot", ["slot": "slot-1"]) }
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 1)
        try await r.waitForPolls("cabinet", cycles: 4)
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 1)
        let audit = try r.call("ListAudit")["entries"]?.array?.map { $0["action"]?.string ?? "" } ?? []
        #expect(audit.contains("interlock") && audit.contains("enable-slot"))
    }

    @Test("smoke switches every slot off")
    func smoke() async throws {
        let receiver = try WebhookReceiver()
        let r = try await Running(receiver: receiver)
        let sim = r.station.simulator
        try await r.daemon.waitFor("cabinet online") {
            try r.call("GetDevice", ["id": "cabinet"])["device"]?["device"]?["state"]?.string == "online"
        }
        try sim.set(device: "cabinet", point: "smoke", value: 1)
        try await r.daemon.waitFor("all configured slots off") {
            try (1...3).allSatisfy { try sim.value(device: "cabinet", point: "slot\($0)_relay") == 0 }
        }
        try await r.daemon.waitFor("smoke alert delivered") { r.deliveries.contains { $0.1 == "CabinetSmoke" } }
        let latched = try r.call("ListAlerts")["latched_slots"]?.array?.count
        #expect(latched == 3)
    }

    @Test("alertmanager and exec targets get the alert too")
    func otherTargets() async throws {
        let webhook = try WebhookReceiver()
        let alertmanager = try WebhookReceiver()
        let r = try await Running(receiver: webhook)
        let out = r.station.dir + "/exec-out.json"
        let config =
            try String(contentsOfFile: r.station.configPath, encoding: .utf8) + """

                [[notify]]
                kind = "alertmanager"
                name = "am"
                url = "http://127.0.0.1:\(alertmanager.port)"

                [[notify]]
                kind = "exec"
                name = "script"
                command = ["/bin/sh", "-c", "cat >> \(out); echo ' key='$WAYSTATION_IDEMPOTENCY_KEY >> \(out)"]
                timeout = "5s"

                """
        try config.write(toFile: r.station.configPath, atomically: true, encoding: .utf8)
        r.daemon.signal(SIGHUP)
        try await r.daemon.waitFor("reloaded") { r.daemon.count("READY=1") >= 2 }
        try r.station.simulator.set(device: "cabinet", point: "smoke", value: 1)
        try await r.daemon.waitFor("alertmanager POST") {
            alertmanager.requests.contains { req in
                req.path == "/api/v2/alerts"
                    && (JSON.parse(req.body)?.array?.first?["labels"]?["alertname"]?.string == "CabinetSmoke")
            }
        }
        let posted = try #require(
            alertmanager.requests.compactMap { JSON.parse($0.body) }.first {
                $0.array?.first?["labels"]?["alertname"]?.string == "CabinetSmoke"
            })
        #expect(posted.array?.first?["startsAt"]?.string != nil)
        #expect(posted.array?.first?["annotations"]?["summary"]?.string?.contains("Smoke") == true)
        try await r.daemon.waitFor("exec ran") {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("CabinetSmoke")
        }
        // The program gets the notification's idempotency key in its environment.
        let ran = try String(contentsOfFile: out, encoding: .utf8)
        #expect(ran.contains(" key=test-"), "\(ran)")
    }

    @Test("acknowledge and silence are admin changes, audited")
    func ackAndSilence() async throws {
        let receiver = try WebhookReceiver()
        let r = try await Running(receiver: receiver)
        _ = try r.call(
            "Silence", ["matchers": ["alertname": "FridgeDoorOpen"], "duration": "1h", "comment": "door repair"])
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("firing") {
            try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.contains {
                $0["name"]?.string == "FridgeDoorOpen"
            } == true
        }
        let alert = try #require(
            try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.first {
                $0["name"]?.string == "FridgeDoorOpen"
            })
        #expect(alert["silenced"]?.bool == true)
        try await r.waitForPolls("fridge", cycles: 5)
        #expect(r.doorDeliveries().isEmpty)  // silenced: not sent
        let fp = try #require(alert["fingerprint"]?.string)
        let acked = try r.call("AcknowledgeAlert", ["fingerprint": .string(fp), "note": "technician on the way"])
        #expect(acked["alert"]?["acknowledged_by"]?.string?.isEmpty == false)
        let audit = try r.call("ListAudit")["entries"]?.array?.map { $0["action"]?.string ?? "" } ?? []
        #expect(audit.contains("silence") && audit.contains("acknowledge"))
    }
}
