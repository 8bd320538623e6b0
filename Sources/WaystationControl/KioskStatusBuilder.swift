#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationAlerts
import WaystationCore

/// What the kiosk shows, computed from the live values (pure): the appliances are found by their
/// points' roles (`role = "room_temperature"` …), not by point names.
enum KioskStatusBuilder {
    /// Above this the microwave is in use (watts).
    static let microwaveInUse = 50.0
    /// A slot drawing more than this charges (amperes).
    static let chargingCurrent = 0.1
    /// The water counts as cold at or below this, unless a fridge rule says otherwise (°C).
    static let defaultColdLimit = 8.0
    /// A charging slot this close to its limit shows "temperature rising" (°C).
    static let risingMargin = 5.0

    static func build(
        config: StationConfig, snapshot: StationSnapshot, latched: [String: InterlockLogic.Latch], occupancy: Int,
        visitCategories: [String], now: Date, time: LocalTime = .station
    ) -> KioskStatus {
        let capacity = config.station.capacity
        let room = KioskRoom(
            temperature: value(.roomTemperature, config, snapshot)?.value,
            acRunning: value(.acRunning, config, snapshot).map { $0.value != 0 },
            setpoint: value(.setpoint, config, snapshot)?.value)
        var water = KioskWater()
        if let w = value(.waterTemperature, config, snapshot) {
            let (limit, inclusive) = coldLimit(config, w.device, w.point)
            water = KioskWater(cold: inclusive ? w.value <= limit : w.value < limit, temperature: w.value)
        }
        let microwave: String =
            switch value(.power, config, snapshot)?.value {
            case .some(let watts): watts > microwaveInUse ? "in_use" : "free"
            case .none: "unknown"
            }
        let day = StationConfig.Service.dayNames[(time.components(of: now).weekday + 5) % 7]
        return KioskStatus(
            station: StationInfo(id: config.station.id, name: config.station.name, capacity: capacity),
            occupancy: occupancy, seatsFree: max(0, capacity - occupancy), room: room, water: water,
            microwave: KioskMicrowave(state: microwave),
            slots: config.slots.map { slot($0, snapshot, latched: latched[$0.id]) },
            services: config.front.services.map {
                KioskService(
                    name: $0.name, nameEn: $0.nameEn, days: $0.days, hours: $0.hours, today: $0.days.contains(day))
            },
            visitCategories: visitCategories,
            hazardCategories: config.front.hazards.map {
                HazardCategory(id: $0.id, name: $0.name, nameEn: $0.nameEn, points: $0.points)
            },
            locationPresets: config.front.kiosk.locationPresets, updatedAt: now.formatted(.iso8601),
            smoke: smoke(config, snapshot) != nil, emergencyPhone: config.front.kiosk.emergencyPhone,
            staffPhone: config.front.kiosk.staffPhone)
    }

    /// The smoke input reading smoke right now (its name), nil when none does. An unknown input is
    /// the interlock's business (it cuts the slots), not an alarm to the room.
    static func smoke(_ config: StationConfig, _ snapshot: StationSnapshot) -> String? {
        config.interlock.smoke.first { (snapshot.value($0) ?? 0) != 0 }.map(\.description)
    }

    /// The first good value of a point with this role, devices of the role's kind first.
    static func value(_ role: PointRole, _ config: StationConfig, _ snapshot: StationSnapshot)
        -> (device: StationConfig.Device, point: String, value: Double)?
    {
        let devices =
            config.devices.filter { $0.profile.kind == role.preferredKind }
            + config.devices.filter { $0.profile.kind != role.preferredKind }
        for device in devices {
            for point in device.profile.points where point.role == role {
                if let v = snapshot.value(.init(device: device.id, point: point.name)), v.isFinite {
                    return (device, point.name, v)
                }
            }
        }
        return nil
    }

    /// The fridge's warm limit: a rule of the form `point > N` (or `>=`) on the water point, else 8 °C.
    static func coldLimit(_ config: StationConfig, _ device: StationConfig.Device, _ point: String) -> (Double, Bool) {
        for rule in config.rules(for: device) {
            if case .compare(.point(let p), let op, .number(let n)) = rule.when, p == point {
                if op == .gt { return (n, true) }
                if op == .ge { return (n, false) }
            }
        }
        return (defaultColdLimit, true)
    }

    static func slot(_ s: StationConfig.Slot, _ snapshot: StationSnapshot, latched: InterlockLogic.Latch?) -> KioskSlot
    {
        if let latched {
            return KioskSlot(id: s.id, state: "off", reason: latched.kind.rawValue, interlock: latched.kind)
        }
        let deviceDown = snapshot.devices[s.relay.device].map { $0.state == .offline } ?? true
        guard let relay = snapshot.value(s.relay) else {
            return KioskSlot(id: s.id, state: "unknown", reason: deviceDown ? "sensor_lost" : nil)
        }
        // Off with no interlock holding it: switched off by hand (a technician, maintenance).
        guard relay != 0 else { return KioskSlot(id: s.id, state: "off", reason: "maintenance") }
        let amps = s.current.flatMap { snapshot.value($0) } ?? 0
        let state = amps > chargingCurrent ? "charging" : "free"
        let temperature = snapshot.value(s.temperature)
        if temperature == nil, snapshot.point(s.temperature) != nil {
            return KioskSlot(id: s.id, state: state, reason: "sensor_lost")
        }
        if let t = temperature, t > s.maxTemperature - risingMargin {
            return KioskSlot(id: s.id, state: state, reason: "temperature_rising")
        }
        return KioskSlot(id: s.id, state: state)
    }
}
