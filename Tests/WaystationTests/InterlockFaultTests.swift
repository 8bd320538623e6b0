import Foundation
import TestSupport
import Testing
import WaystationCore

/// The interlocks fail safe, through the real daemon and the simulator: a sentinel, a NaN, a lost
/// temperature module, a fast rise, and a flood of clients on the same bus.
@Suite("Interlocks fail safe (real daemon)", .serialized)
struct InterlockFaultTests {
    /// t1 (testdev) carries slot-a's relay (coil c0) and a float temperature (f32); the cabinet carries
    /// slot-1 (relay, temperature and current on one unit) and slot-b (relay on the cabinet, the
    /// temperature on t1): a slot can span units.
    static func station(extra: String = "") throws -> TestStation {
        try TestStation(
            tcpUnits: [1],
            extraProfiles: ["charger-cabinet-4slot": try shippedProfile("charger-cabinet-4slot")],
            extraConfig: """
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
                max_rise = "5 °C/min"
                rise_window = "4s"

                [[slot]]
                id = "slot-a"
                relay = "t1.c0"
                temperature = "cabinet.slot2_temp"
                max_temperature = 60.0

                [[slot]]
                id = "slot-f"
                relay = "cabinet.slot3_relay"
                temperature = "t1.f32"
                max_temperature = 200.0

                """ + extra)
    }

    static func start(_ station: TestStation) async throws -> StationRun {
        let sim = station.simulator
        try sim.set(device: "t1", point: "c0", value: 1)
        try sim.set(device: "t1", point: "f32", value: 25)
        let run = try await StationRun(station, waitForOnline: ["cabinet", "t1"])
        try await run.waitForPolls("cabinet", cycles: 3)
        return run
    }

    func firing(_ r: StationRun, _ name: String) throws -> [JSON] {
        try r.call("ListAlerts", ["state": "firing"])["alerts"]?.array?.filter { $0["name"]?.string == name } ?? []
    }

    @Test("a sentinel (\"no sensor\") cuts the slot after its grace: relay read back off, SlotSensorLost")
    func sentinel() async throws {
        let r = try await Self.start(try Self.station())
        let sim = r.station.simulator
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 1)
        // slot1_temp is int16 × 0.1 with sentinel 0x8000: -3276.8 °C on the wire is "no sensor".
        try sim.set(device: "cabinet", point: "slot1_temp", value: -3276.8, hold: true)
        try await r.daemon.waitFor("relay off") { try sim.value(device: "cabinet", point: "slot1_relay") == 0 }
        // The alert follows the read-back that confirms the relay is off.
        try await r.daemon.waitFor("SlotSensorLost firing") { try !firing(r, "SlotSensorLost").isEmpty }
        let alert = try #require(try firing(r, "SlotSensorLost").first)
        #expect(alert["severity"]?.string == "critical" && alert["labels"]?["slot"]?.string == "slot-1")
        #expect(try sim.value(device: "cabinet", point: "slot2_relay") == 1, "other slots stay on")
        // Refused while the sensor is unknown; accepted once it reads again.
        #expect(r.error("EnableSlot", ["slot": "slot-1"])?.0 == "\(StationRun.iface).SlotUnsafe")
        try sim.set(device: "cabinet", point: "slot1_temp", value: 30, hold: true)
        _ = try await eventually { try r.call("EnableSlot", ["slot": "slot-1"]) }
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 1)
    }

    @Test("a NaN temperature is no reading: the slot is cut, and history keeps being written")
    func nan() async throws {
        let r = try await Self.start(try Self.station())
        let sim = r.station.simulator
        try sim.set(device: "t1", point: "f32", value: .nan, hold: true)
        try await r.daemon.waitFor("slot-f relay off") { try sim.value(device: "cabinet", point: "slot3_relay") == 0 }
        try await r.daemon.waitFor("SlotSensorLost firing for slot-f") {
            try firing(r, "SlotSensorLost").contains { $0["labels"]?["slot"]?.string == "slot-f" }
        }
        let f32 = try r.call("GetDevice", ["id": "t1"])["device"]?["points"]?.array?.first {
            $0["name"]?.string == "f32"
        }
        #expect(f32?["value"] == nil || f32?["value"] == .null, "NaN is not a value: \(String(describing: f32))")
        // The history batch with the NaN went through: a state change written after it is on disk.
        try sim.setFault(device: "t1", .silent)
        try await r.daemon.waitFor("t1 offline") {
            (try? r.call("GetDevice", ["id": "t1"]))?["device"]?["device"]?["state"]?.string == "offline"
        }
        r.daemon.signal(SIGTERM)
        #expect(try await r.daemon.waitForExit() == 0)
        let db = try openDatabase(r.station.dir + "/station.db")
        let states = try db.readNow {
            try String.fetchAll($0, sql: "SELECT state FROM device_state WHERE device = 't1'")
        }
        #expect(states.contains("offline"), "\(states)")
    }

    @Test("the temperature module offline (another unit than the relay): the relay is switched off")
    func moduleOffline() async throws {
        let r = try await Self.start(try Self.station())
        let sim = r.station.simulator
        #expect(try sim.value(device: "t1", point: "c0") == 1)
        try sim.setFault(device: "cabinet", .silent)
        try await r.daemon.waitFor("slot-a relay (on t1) off") { try sim.value(device: "t1", point: "c0") == 0 }
        try await r.daemon.waitFor("SlotSensorLost firing for slot-a") {
            try firing(r, "SlotSensorLost").contains { $0["labels"]?["slot"]?.string == "slot-a" }
        }
        let latched = try r.call("ListAlerts")["latched_slots"]?.array?.compactMap { $0["slot"]?.string } ?? []
        #expect(latched.contains("slot-a"))
    }

    @Test("rate of rise: a slot heating fast is cut below its limit, with its own alert")
    func rateOfRise() async throws {
        let r = try await Self.start(try Self.station())
        let sim = r.station.simulator
        var temp = 30.0
        while try sim.value(device: "cabinet", point: "slot1_relay") == 1, temp < 55 {
            temp += 0.5
            try sim.set(device: "cabinet", point: "slot1_temp", value: temp, hold: true)
            try await r.waitForPolls("cabinet", cycles: 1)
        }
        #expect(try sim.value(device: "cabinet", point: "slot1_relay") == 0, "cut at \(temp) °C")
        #expect(temp < 60, "cut below the 60 °C limit")
        try await r.daemon.waitFor("SlotTemperatureRising firing") { try !firing(r, "SlotTemperatureRising").isEmpty }
        let alert = try #require(try firing(r, "SlotTemperatureRising").first)
        #expect(alert["summary"]?.string?.contains("°C/min") == true)
    }

    @Test("clients flooding the bus cannot delay a switch-off: interlock first, clients refused as busy")
    func priority() async throws {
        let r = try await Self.start(try Self.station())
        let sim = r.station.simulator
        let socket = r.socket
        let stop = Flag()
        let busy = Counter()
        // 40 clients loop live reads on the same bus (as fast as they can).
        let flood = (0..<40).map { _ in
            Thread.spawn {
                while !stop.isSet {
                    do {
                        _ = try VarlinkClient(path: socket).call(
                            "\(StationRun.iface).ReadPoint", ["device": "t1", "point": "u16"])
                    } catch VarlinkClient.Failure.reply(let e) {
                        if e.parameters["error"]?.string?.contains("busy") == true { busy.add() }
                    } catch {}
                }
            }
        }
        defer {
            stop.set()
            for t in flood { t.join() }
        }
        try await r.waitForPolls("cabinet", cycles: 3)
        let served0 = try sim.servedCount(device: "t1")
        try sim.set(device: "cabinet", point: "slot1_temp", value: 75, hold: true)
        try await r.daemon.waitFor("relay off") { try sim.value(device: "cabinet", point: "slot1_relay") == 0 }
        let clientReadsBetween = try sim.servedCount(device: "t1") - served0
        // FIFO would put every waiting client's read (and t1's polls) ahead of the relay write; the
        // rate limit lets through at most its burst plus its rate over the cycle in between.
        #expect(clientReadsBetween <= 30, "\(clientReadsBetween) t1 requests served before the relay was off")
        #expect(busy.value > 0, "client reads over the bus's rate are refused as busy")
    }
}

/// A flag and a counter shared with plain threads (tests).
final class Flag: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var on = false
    var isSet: Bool { lock.withLock { on } }
    func set() { lock.withLock { on = true } }
}

final class Counter: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.withLock { n } }
    func add() { lock.withLock { n += 1 } }
}

/// A plain thread that can be joined (for load that must not sit on the concurrency pool).
final class JoinableThread: @unchecked Sendable {
    // @unchecked: `done` is a semaphore.
    private let done = DispatchSemaphore(value: 0)
    init(_ body: @escaping @Sendable () -> Void) {
        Thread.detachNewThread { [done] in
            body()
            done.signal()
        }
    }
    /// Waits on a thread of its own (never blocks the pool from a test's deinit).
    func join() { done.wait() }
}

extension Thread {
    static func spawn(_ body: @escaping @Sendable () -> Void) -> JoinableThread { JoinableThread(body) }
}
