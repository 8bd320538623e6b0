import Foundation
import WaystationCore

/// Simple physics per appliance kind. Each step moves a device's values by `dt` seconds.
/// Points a profile lacks are skipped, so any profile of a kind can be simulated.
enum SimPhysics {
    static let ambient = 31.0  // a summer afternoon outside the station

    /// Gives a device plausible starting values.
    static func initialise(_ d: SimDevice) {
        for point in d.profile.points { d.set(point.name, point.min ?? 0) }
        switch d.profile.kind {
        case .fridge:
            d.set("setpoint", 4)
            d.set("cabinet_temp", 5)
            d.set("evaporator_temp", -2)
            d.set("controller_on", 1)
        case .airConditioner:
            d.set("on", 1)
            d.set("mode", 4)
            d.set("fan_speed", 0)
            d.set("setpoint", 26)
            d.set("room_temp", 29)
            d.set("error_code", 0)
        case .microwave:
            d.set("voltage", 230)
            d.set("frequency", 50)
            d.set("power_factor", 0.98)
            d.set("power_alarm_threshold", 2000)
        case .meter:
            d.set("voltage", 230)
            d.set("frequency", 50)
            d.set("power_factor", 0.95)
            d.set("import_energy", 1234.5)
        case .charger:
            for n in slotNumbers(d) {
                d.set("slot\(n)_relay", 1)
                d.set("slot\(n)_battery", n <= 2 ? 1 : 0)
                d.set("slot\(n)_temp", 26)
                d.set("slot\(n)_voltage", 230)
            }
        case .other:
            break
        }
    }

    static func slotNumbers(_ d: SimDevice) -> [Int] {
        d.profile.points.compactMap { p -> Int? in
            guard p.name.hasPrefix("slot"), p.name.hasSuffix("_relay") else { return nil }
            return Int(p.name.dropFirst(4).dropLast(6))
        }.sorted()
    }

    static func step(_ d: SimDevice, dt: Double) {
        switch d.profile.kind {
        case .fridge: fridge(d, dt)
        case .airConditioner: airConditioner(d, dt)
        case .microwave: microwave(d, dt)
        case .meter: meter(d, dt)
        case .charger: charger(d, dt)
        case .other: break
        }
    }

    /// Warms with the door open, cools with the compressor on; the controller cycles the compressor.
    static func fridge(_ d: SimDevice, _ dt: Double) {
        var t = d.get("cabinet_temp")
        let on = d.point("controller_on") == nil || d.get("controller_on") != 0
        var compressor = d.get("compressor") != 0
        let sp = d.get("setpoint")
        if on && t > sp + 1 { compressor = true }
        if !on || t < sp - 1 { compressor = false }
        let leak = d.get("door_open") != 0 ? 0.02 : 0.0015
        t += (ambient - t) * leak * dt
        if compressor { t -= 0.08 * dt }
        d.set("compressor", compressor ? 1 : 0)
        d.set("cabinet_temp", t)
        d.set("evaporator_temp", compressor ? t - 9 : t - 2)
    }

    /// Pulls the room toward the setpoint while on; the room drifts toward outside when off.
    static func airConditioner(_ d: SimDevice, _ dt: Double) {
        var room = d.get("room_temp")
        room += (ambient + 3 - room) * 0.001 * dt
        if d.get("on") != 0 && d.get("error_code") == 0 {
            let target = d.get("setpoint")
            let mode = Int(d.get("mode"))
            let pull = 0.004 * dt * (room - target)
            switch mode {
            case 4, 2: if room > target { room -= pull }  // cool, dry
            case 1: if room < target { room -= pull }  // heat
            case 0: room -= pull  // auto
            default: break  // fan only
            }
        }
        d.set("room_temp", room)
        d.scratch["hours", default: 0] += dt / 3600
        if d.get("on") != 0 { d.set("operation_hours", d.get("operation_hours") + dt / 3600) }
    }

    /// Runs timed heating cycles: 30 s at ~1.15 kW, then 40 s idle.
    static func microwave(_ d: SimDevice, _ dt: Double) {
        let phase = (d.scratch["t", default: 0] + dt).truncatingRemainder(dividingBy: 70)
        d.scratch["t"] = phase
        let running = phase < 30
        let power = running ? 1150 + Double.random(in: -20...20) : 1.5
        let voltage = 230 + Double.random(in: -1...1)
        d.set("voltage", voltage)
        d.set("power", power)
        d.set("current", power / voltage / max(d.get("power_factor"), 0.1))
        d.set("energy", d.get("energy") + power * dt / 3600)
        d.set("power_alarm", power > d.get("power_alarm_threshold") ? 65535 : 0)
    }

    /// A station's whole load, wandering between 300 W and 2.5 kW; energy integrates it.
    static func meter(_ d: SimDevice, _ dt: Double) {
        var p = d.get("power")
        if p < 300 { p = 800 }
        p = min(2500, max(300, p + Double.random(in: -15...15) * dt))
        let v = 230 + Double.random(in: -0.5...0.5)
        d.set("voltage", v)
        d.set("power", p)
        d.set("current", p / v / 0.95)
        d.set("apparent_power", p / 0.95)
        d.set("reactive_power", p * 0.33)
        d.set("import_energy", d.get("import_energy") + p * dt / 3_600_000)
        d.set("total_energy", d.get("import_energy") + d.get("export_energy"))
    }

    /// A slot with its relay on and a battery draws ~1.6 A, adds up energy and warms; off, it cools.
    static func charger(_ d: SimDevice, _ dt: Double) {
        for n in slotNumbers(d) {
            let relay = d.get("slot\(n)_relay") != 0
            let battery = d.get("slot\(n)_battery") != 0
            let current = relay && battery ? 1.6 + Double.random(in: -0.05...0.05) : 0
            d.set("slot\(n)_current", current)
            d.set("slot\(n)_voltage", relay ? 230 + Double.random(in: -1...1) : 0)
            d.set("slot\(n)_energy", d.get("slot\(n)_energy") + 230 * current * dt / 3600)
            let target = 25 + current * 7
            var temp = d.get("slot\(n)_temp")
            temp += (target - temp) * 0.01 * dt
            d.set("slot\(n)_temp", temp)
        }
    }
}
