import Foundation
import TestSupport
import Testing
import WaystationAlerts
import WaystationCore

/// The alert engine, pure: rules, lifecycle, notifications, silences, reminders and interlock trips,
/// driven by snapshots and the times the test gives. No process, no socket, no sleep.
@Suite("Alert engine (pure)")
struct AlertEngineTests {
    typealias F = EngineFixture

    static func at(_ s: Double) -> Date { F.t0.addingTimeInterval(s) }

    func snapshot(_ t: Double, door: Double = 0, cabinet: [String: Double?] = [:]) -> StationSnapshot {
        F.snapshot(cabinet: F.cabinet(at: Self.at(t), cabinet), fridge: F.fridge(at: Self.at(t), door: door))
    }

    func states(_ engine: AlertEngine, _ name: String) -> [AlertState] {
        engine.alerts.values.filter { $0.rule == name }.map(\.state)
    }

    @Test("pending, firing after `for`, resolved; notifications for firing and resolved only")
    func lifecycle() throws {
        var engine = AlertEngine(config: try F.config())
        var actions = engine.afterPoll(device: "fridge", snapshot: snapshot(0, door: 1), now: Self.at(0))
        #expect(states(engine, "FridgeDoorOpen") == [.pending])
        #expect(F.notifications(actions).isEmpty)
        actions = engine.tick(snapshot: snapshot(9, door: 1), now: Self.at(9))
        #expect(states(engine, "FridgeDoorOpen") == [.pending])
        actions = engine.tick(snapshot: snapshot(10, door: 1), now: Self.at(10))
        #expect(states(engine, "FridgeDoorOpen") == [.firing])
        #expect(F.notifications(actions).map(\.1) == ["firing"])
        #expect(F.notifications(actions).first?.0 == "hook")
        actions = engine.tick(snapshot: snapshot(11), now: Self.at(11))
        #expect(states(engine, "FridgeDoorOpen") == [.resolved])
        #expect(F.notifications(actions).map(\.1) == ["resolved"])
    }

    @Test("a condition that clears while pending goes back to inactive without a notification")
    func pendingClears() throws {
        var engine = AlertEngine(config: try F.config())
        _ = engine.afterPoll(device: "fridge", snapshot: snapshot(0, door: 1), now: Self.at(0))
        let actions = engine.tick(snapshot: snapshot(5), now: Self.at(5))
        #expect(states(engine, "FridgeDoorOpen") == [.inactive])
        #expect(F.notifications(actions).isEmpty)
    }

    @Test("maintenance holds a device's alerts back; an unknown (not yet polled) device changes nothing")
    func maintenanceAndUnknown() throws {
        var engine = AlertEngine(config: try F.config())
        var snap = snapshot(0, door: 1)
        snap.devices["fridge"]?.inMaintenance = true
        _ = engine.afterPoll(device: "fridge", snapshot: snap, now: Self.at(0))
        #expect(states(engine, "FridgeDoorOpen").isEmpty)
        snap.devices["fridge"]?.inMaintenance = false
        snap.devices["fridge"]?.state = .unknown
        _ = engine.tick(snapshot: snap, now: Self.at(20))
        #expect(states(engine, "FridgeDoorOpen").isEmpty)
    }

    @Test("a silenced alert fires but sends nothing; reminders go out after repeat_interval, not after an ack")
    func silenceAndReminders() throws {
        var engine = AlertEngine(config: try F.config())
        _ = engine.afterPoll(device: "fridge", snapshot: snapshot(0, door: 1), now: Self.at(0))
        let fired = engine.tick(snapshot: snapshot(10, door: 1), now: Self.at(10))
        #expect(F.notifications(fired).count == 1)
        // repeat_interval 1h: nothing at 59 min, a reminder at 60.
        #expect(F.notifications(engine.tick(snapshot: snapshot(3549, door: 1), now: Self.at(3549))).isEmpty)
        #expect(
            F.notifications(engine.tick(snapshot: snapshot(3610, door: 1), now: Self.at(3610))).map(\.1) == ["firing"])
        let fp = try #require(engine.alerts.values.first { $0.rule == "FridgeDoorOpen" }?.fingerprint)
        _ = try engine.acknowledge(fp, note: "on it", by: "tech", now: Self.at(3700))
        #expect(F.notifications(engine.tick(snapshot: snapshot(8000, door: 1), now: Self.at(8000))).isEmpty)

        var quiet = AlertEngine(config: try F.config())
        quiet.add(
            SilenceEntry(id: 1, matchers: ["alertname": "FridgeDoorOpen"], until: Self.at(100000), by: "x", comment: "")
        )
        _ = quiet.afterPoll(device: "fridge", snapshot: snapshot(0, door: 1), now: Self.at(0))
        let silent = quiet.tick(snapshot: snapshot(10, door: 1), now: Self.at(10))
        #expect(states(quiet, "FridgeDoorOpen") == [.firing])
        #expect(F.notifications(silent).isEmpty)
        #expect(quiet.list(state: .firing, now: Self.at(10)).first?.silenced == true)
    }

    @Test("acknowledging an alert that is not firing is refused")
    func ackRefused() throws {
        var engine = AlertEngine(config: try F.config())
        #expect(throws: AlertError.notFound) { _ = try engine.acknowledge("nope", note: "", by: "x", now: Self.at(0)) }
        _ = engine.afterPoll(device: "fridge", snapshot: snapshot(0, door: 1), now: Self.at(0))
        let fp = try #require(engine.alerts.values.first?.fingerprint)
        #expect(throws: AlertError.notFiring(.pending)) {
            _ = try engine.acknowledge(fp, note: "", by: "x", now: Self.at(1))
        }
    }

    @Test("an overheated slot: switch-off, latch, critical alert; a failed switch-off escalates and is retried")
    func trip() throws {
        var engine = AlertEngine(config: try F.config())
        let hot = engine.afterPoll(
            device: "cabinet", snapshot: snapshot(0, cabinet: ["slot1_temp": 75]), now: Self.at(0))
        let offs = F.switchOffs(hot)
        #expect(offs.map(\.slot) == ["slot-1"] && offs.first?.kind == .overheated)
        // The relay did not obey: escalated, critical, notified, retried next tick.
        let failed = engine.tripped(
            slot: "slot-1", kind: .overheated, reason: "hot", confirmedOff: false, failure: "timeout", now: Self.at(0))
        #expect(F.notifications(failed).map { $0.2 } == ["SlotInterlock"])
        let alert = try #require(engine.alerts.values.first { $0.rule == "SlotInterlock" })
        #expect(alert.severity == .critical && alert.escalated && alert.state == .firing)
        #expect(engine.latched.isEmpty)
        let retry = engine.tick(snapshot: snapshot(1, cabinet: ["slot1_temp": 75]), now: Self.at(1))
        #expect(F.switchOffs(retry).map(\.slot) == ["slot-1"])
        // Now it obeys: latched (durably), no second firing notification.
        let ok = engine.tripped(
            slot: "slot-1", kind: .overheated, reason: "hot", confirmedOff: true, failure: "", now: Self.at(1))
        #expect(ok.contains(.latch(slot: "slot-1", .init(.overheated, "hot"))))
        #expect(F.notifications(ok).isEmpty)
        #expect(engine.latched == ["slot-1": .init(.overheated, "hot")])
        // Cool again but latched: refused only while unsafe; enabling resolves the alert.
        #expect(throws: AlertError.stillUnsafe("temperature 75 °C above the limit of 60 °C")) {
            _ = try engine.checkEnable("slot-1", snapshot: snapshot(2, cabinet: ["slot1_temp": 75]), now: Self.at(2))
        }
        _ = try engine.checkEnable("slot-1", snapshot: snapshot(3), now: Self.at(3))
        let enabled = engine.enabled("slot-1", now: Self.at(3))
        #expect(F.notifications(enabled).map(\.1) == ["resolved"])
        #expect(engine.latched.isEmpty)
    }

    @Test("a lost temperature sensor raises SlotSensorLost (its own alert) after the grace")
    func sensorLostAlert() throws {
        var engine = AlertEngine(config: try F.config())
        let grace = try #require(engine.config.slots.first?.sensorGrace).seconds
        _ = engine.tick(snapshot: snapshot(0, cabinet: ["slot1_temp": F.noReading]), now: Self.at(0))
        let cut = engine.tick(snapshot: snapshot(grace, cabinet: ["slot1_temp": F.noReading]), now: Self.at(grace))
        let off = try #require(F.switchOffs(cut).first)
        #expect(off.slot == "slot-1" && off.kind == .sensorLost)
        let actions = engine.tripped(
            slot: "slot-1", kind: .sensorLost, reason: "temperature sensor lost (x)", confirmedOff: true, failure: "",
            now: Self.at(grace))
        #expect(F.notifications(actions).map(\.2) == ["SlotSensorLost"])
        #expect(engine.alerts.values.contains { $0.rule == "SlotSensorLost" && $0.severity == .critical })
    }

    @Test("summaries fill {device}, {value} and {name}")
    func render() {
        #expect(
            AlertEngine.render("{name}: {device} at {value} °C", device: "fridge", value: 8.25, rule: "Warm")
                == "Warm: fridge at 8.25 °C")
        #expect(AlertEngine.render("{value}", device: "d", value: nil, rule: "r") == "?")
        // No "fridge fridge"; a device with its own name keeps it.
        #expect(
            AlertEngine.render("Fridge {device} at {value} °C", device: "fridge", value: 15, rule: "r")
                == "Fridge at 15 °C")
        #expect(
            AlertEngine.render("Fridge {device} at {value} °C", device: "fridge-2", value: 15, rule: "r")
                == "Fridge fridge-2 at 15 °C")
        // "running long" says how long it has been running, also while pending.
        #expect(
            AlertEngine.render(
                "Microwave {device} has been running for {active}", device: "microwave", value: 900,
                rule: "r", active: 240) == "Microwave has been running for 4 minutes")
    }
}

@Suite("Alert conditions and payloads (pure)")
struct AlertConditionTests {
    @Test("conditions parse with precedence, and evaluate; a missing value is false")
    func conditions() throws {
        let c = try AlertCondition.parse("a > 1 and not (b or offline)")
        #expect(c.points.sorted() == ["a", "b"])
        #expect(c.evaluate(values: { ["a": 2, "b": 0][$0] }, state: .online))
        #expect(!c.evaluate(values: { ["a": 2, "b": 1][$0] }, state: .online))
        #expect(!c.evaluate(values: { ["a": 2, "b": 0][$0] }, state: .offline))
        #expect(!c.evaluate(values: { _ in nil }, state: .online))
        #expect(try AlertCondition.parse("x or y and z").description == "(x or (y and z))")
        #expect(try AlertCondition.parse("t >= -1.5").evaluate(values: { _ in -1.5 }, state: .online))
    }

    @Test(
        "bad conditions say what was expected",
        arguments: [
            ("", "empty"), ("a >", "missing value"), ("(a", "missing \")\""), ("a => 1", "unknown operator"),
            ("5", "a number alone"), ("a b", "unexpected"), ("a @ b", "unexpected character"),
        ])
    func badConditions(text: String, expected: String) {
        do {
            _ = try AlertCondition.parse(text)
            Issue.record("\"\(text)\" parsed")
        } catch {
            #expect(error.description.contains(expected), "\(text): \(error)")
        }
    }

    @Test("webhook payload is Alertmanager's version 4; alertmanager target gets postable alerts")
    func payloads() throws {
        let config = try EngineFixture.config()
        var a = AlertInstance(
            rule: "FridgeDoorOpen", device: "fridge",
            labels: ["alertname": "FridgeDoorOpen", "device": "fridge", "station": "t", "severity": "warning"],
            severity: .warning, summary: "door open")
        a.state = .firing
        a.firedAt = EngineFixture.t0
        a.value = 1
        let hook = try #require(config.notify.first)
        let body = try #require(
            JSON.parse(Data(Payloads.build(target: hook, alert: a, status: .firing, station: config.station).utf8)))
        #expect(body["version"]?.string == "4" && body["status"]?.string == "firing")
        #expect(body["receiver"]?.string == "hook")
        #expect(body["alerts"]?.array?.first?["labels"]?["alertname"]?.string == "FridgeDoorOpen")
        #expect(body["alerts"]?.array?.first?["startsAt"]?.string == "2027-01-15T08:00:00Z")
        #expect(body["alerts"]?.array?.first?["fingerprint"]?.string == a.fingerprint)
        var am = hook
        am.kind = .alertmanager
        a.resolvedAt = EngineFixture.t0.addingTimeInterval(60)
        let posted = try #require(
            JSON.parse(Data(Payloads.build(target: am, alert: a, status: .resolved, station: config.station).utf8)))
        let first = try #require(posted.array?.first)
        #expect(first["status"] == nil && first["endsAt"]?.string == "2027-01-15T08:01:00Z")
        #expect(first["annotations"]?["summary"]?.string == "door open")
        #expect(AlertInstance.fingerprint(["a": "1"]).count == 16)
        #expect(AlertInstance.fingerprint(["a": "1"]) != AlertInstance.fingerprint(["a": "2"]))
    }
}
