import Foundation
import Testing
import WaystationAlerts
import WaystationCore
import TestSupport

/// The interlocks, pure: driven by snapshots and a clock the test sets. No process, no sleep.
@Suite("Interlock logic (pure)")
struct InterlockLogicTests {
    typealias F = EngineFixture

    func run(
        _ logic: inout InterlockLogic, _ config: StationConfig, _ cabinet: StationSnapshot.Device, at: Date,
        latched: [String: InterlockLogic.Latch] = [:]
    ) -> [InterlockLogic.Decision] {
        logic.evaluate(
            slots: config.slots, interlock: config.interlock, latched: latched,
            snapshot: F.snapshot(cabinet: cabinet, fridge: F.fridge(at: at)), now: at)
    }

    @Test("a healthy cabinet trips nothing; past the limit trips that slot only")
    func overheat() throws {
        let config = try F.config()
        var logic = InterlockLogic()
        #expect(run(&logic, config, F.cabinet(at: F.t0), at: F.t0).isEmpty)
        let hot = run(&logic, config, F.cabinet(at: F.t0, ["slot1_temp": 75]), at: F.t0)
        #expect(hot.map(\.slot) == ["slot-1"] && hot.first?.kind == .overheated)
        #expect(hot.first?.reason.contains("75 °C above the limit of 60 °C") == true)
    }

    @Test("a latched slot found on is switched off again; off and latched stays quiet")
    func latched() throws {
        let config = try F.config()
        var logic = InterlockLogic()
        let held = ["slot-1": InterlockLogic.Latch(.overheated, "temperature 75 °C above the limit of 60 °C")]
        let again = run(&logic, config, F.cabinet(at: F.t0), at: F.t0, latched: held)
        #expect(again.map(\.slot) == ["slot-1"] && again.first?.switchOff == true)
        #expect(run(&logic, config, F.cabinet(at: F.t0, ["slot1_relay": 0]), at: F.t0, latched: held).isEmpty)
    }

    @Test("a latch keeps its kind whatever its words: a storage-recovery latch found on is cut as such")
    func latchKindIsAValue() throws {
        let config = try F.config()
        var logic = InterlockLogic()
        // Words that start like an overheat, a kind that says otherwise: the kind wins.
        let held = ["slot-1": InterlockLogic.Latch(.storageRecovered, "temperature unknown: storage recovered (x)")]
        let again = run(&logic, config, F.cabinet(at: F.t0), at: F.t0, latched: held)
        #expect(again.map(\.kind) == [.storageRecovered])
        #expect(InterlockLogic.Kind.storageRecovered.alertName == "SlotInterlock")
    }

    @Test("current with no battery; smoke cuts every slot")
    func batteryAndSmoke() throws {
        let config = try F.config()
        var logic = InterlockLogic()
        let noBattery = run(&logic, config, F.cabinet(at: F.t0, ["slot1_battery": 0]), at: F.t0)
        #expect(noBattery.map(\.slot) == ["slot-1"] && noBattery.first?.kind == .noBattery)
        let smoke = run(&logic, config, F.cabinet(at: F.t0, ["smoke": 1]), at: F.t0)
        #expect(Set(smoke.map(\.slot)) == ["slot-1", "slot-2"] && smoke.allSatisfy { $0.kind == .smoke })
    }

    @Test(
        "an unknown temperature (sentinel, NaN, unreadable, stale) cuts the slot after its grace, not before",
        arguments: ["sentinel", "nan", "failing", "stale"])
    func sensorLost(how: String) throws {
        let config = try F.config()
        let grace = try #require(config.slots.first?.sensorGrace).seconds
        var logic = InterlockLogic()
        func cabinet(_ t: Date) -> StationSnapshot.Device {
            switch how {
            case "sentinel": return F.cabinet(at: t, ["slot1_temp": F.noReading])
            case "nan": return F.cabinet(at: t, ["slot1_temp": .nan])
            case "failing": return F.cabinet(at: t, failing: ["slot1_temp"])
            default:  // read once at t0, never again
                var c = F.cabinet(at: t)
                c.points["slot1_temp"] = .init(value: 25, readAt: F.t0, failing: false)
                return c
            }
        }
        #expect(run(&logic, config, F.cabinet(at: F.t0), at: F.t0).isEmpty)
        // Stale needs its staleAfter to pass first; the others are unknown at once.
        let start =
            how == "stale"
            ? F.t0.addingTimeInterval(try #require(config.slots.first?.staleAfter).seconds + 0.1)
            : F.t0.addingTimeInterval(1)
        #expect(run(&logic, config, cabinet(start), at: start).isEmpty, "within the grace")
        let justBefore = start.addingTimeInterval(grace - 0.1)
        #expect(run(&logic, config, cabinet(justBefore), at: justBefore).isEmpty, "within the grace")
        let after = start.addingTimeInterval(grace)
        let cut = run(&logic, config, cabinet(after), at: after)
        #expect(cut.map(\.slot) == ["slot-1"], "\(how)")
        #expect(cut.first?.kind == .sensorLost)
        #expect(cut.first?.reason.hasPrefix("temperature sensor lost") == true)
    }

    @Test("a reading back within the grace resets the clock")
    func graceResets() throws {
        let config = try F.config()
        let grace = try #require(config.slots.first?.sensorGrace).seconds
        var logic = InterlockLogic()
        let t1 = F.t0.addingTimeInterval(grace * 0.8)
        #expect(run(&logic, config, F.cabinet(at: F.t0, ["slot1_temp": F.noReading]), at: F.t0).isEmpty)
        #expect(run(&logic, config, F.cabinet(at: t1), at: t1).isEmpty)
        let t2 = t1.addingTimeInterval(grace * 0.8)
        #expect(run(&logic, config, F.cabinet(at: t2, ["slot1_temp": F.noReading]), at: t2).isEmpty)
    }

    @Test("a smoke input that is unknown past its grace cuts every slot")
    func smokeLost() throws {
        let config = try F.config()
        var logic = InterlockLogic()
        let grace = config.interlock.smokeGrace.seconds
        #expect(run(&logic, config, F.cabinet(at: F.t0, failing: ["smoke"]), at: F.t0).isEmpty)
        let later = F.t0.addingTimeInterval(grace)
        let cut = run(&logic, config, F.cabinet(at: later, failing: ["smoke"]), at: later)
        #expect(Set(cut.map(\.slot)) == ["slot-1", "slot-2"])
        #expect(cut.allSatisfy { $0.reason.contains("smoke detector") })
    }

    @Test("rate of rise: a fast climb below the limit cuts; a slow one and a single spike do not")
    func rateOfRise() throws {
        let config = try F.config()  // slot-1: 5 °C/min over 30 s
        func climb(_ perMinute: Double, spikeAt: Int? = nil) -> [InterlockLogic.Decision] {
            var logic = InterlockLogic()
            var last: [InterlockLogic.Decision] = []
            for i in 0...30 {
                let t = F.t0.addingTimeInterval(Double(i))
                var temp = 30 + perMinute * Double(i) / 60
                if i == spikeAt { temp += 20 }
                last = run(&logic, config, F.cabinet(at: t, ["slot1_temp": temp]), at: t)
                if !last.isEmpty { return last }
            }
            return last
        }
        let fast = climb(12)
        #expect(fast.map(\.slot) == ["slot-1"] && fast.first?.kind == .temperatureRising)
        #expect(climb(2).isEmpty)
        #expect(climb(0, spikeAt: 20).isEmpty, "one noisy sample is not a trend")
    }

    @Test("re-enabling is refused while a hazard or an unknown sensor remains")
    func enableCheck() throws {
        let config = try F.config()
        let slot = try #require(config.slots.first)
        func hazard(_ c: StationSnapshot.Device) -> String? {
            InterlockLogic.hazard(
                for: slot, interlock: config.interlock, snapshot: F.snapshot(cabinet: c, fridge: F.fridge(at: F.t0)),
                now: F.t0)
        }
        #expect(hazard(F.cabinet(at: F.t0)) == nil)
        #expect(hazard(F.cabinet(at: F.t0, ["slot1_temp": 75]))?.contains("above the limit") == true)
        #expect(hazard(F.cabinet(at: F.t0, ["slot1_temp": F.noReading]))?.contains("unknown") == true)
        #expect(hazard(F.cabinet(at: F.t0, ["smoke": 1]))?.contains("smoke") == true)
    }

    @Test("config numbers: nan or inf limits and bad rates are refused with the key named")
    func configNumbers() throws {
        for (bad, key) in [
            ("max_temperature = nan", "max_temperature"), ("max_temperature = inf", "max_temperature"),
            ("max_temperature = 500.0", "max_temperature"), ("max_rise = \"fast\"", "max_rise"),
            ("sensor_grace = \"1e300s\"", "sensor_grace"),
        ] {
            let limit = bad.hasPrefix("max_temperature") ? "" : "max_temperature = 60.0\n"
            // slot-2, which sets only its limit.
            let text = F.text.replacingOccurrences(
                of: "max_temperature = 60.0\n[interlock]", with: "\(bad)\n\(limit)[interlock]")
            do {
                _ = try StationConfigLoader.load(
                    text: text, path: "/tmp/x.toml", extraProfilePaths: [BuildPaths.repo + "/devices"])
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.description.contains("'\(key)'"), "\(bad): \(error)")
            }
        }
    }
}
