import Foundation
import TestSupport
import WaystationAlerts
import WaystationCore

/// A station config for the pure-logic tests, from the shipped profiles, and snapshots at given times.
enum EngineFixture {
    static let text = """
        [station]
        id = "t"
        name = "Test"
        capacity = 4
        [storage]
        path = "/nonexistent/t.db"
        [[bus]]
        name = "gw"
        transport = "tcp"
        host = "127.0.0.1"
        [[device]]
        id = "fridge"
        profile = "fridge-basic"
        bus = "gw"
        unit = 1
        interval = "1s"
        [[device]]
        id = "cabinet"
        profile = "charger-cabinet-4slot"
        bus = "gw"
        unit = 2
        interval = "1s"
        [[slot]]
        id = "slot-1"
        relay = "cabinet.slot1_relay"
        temperature = "cabinet.slot1_temp"
        max_temperature = 60.0
        current = "cabinet.slot1_current"
        battery_present = "cabinet.slot1_battery"
        max_rise = "5 °C/min"
        rise_window = "30s"
        [[slot]]
        id = "slot-2"
        relay = "cabinet.slot2_relay"
        temperature = "cabinet.slot2_temp"
        max_temperature = 60.0
        [interlock]
        smoke = ["cabinet.smoke"]
        [[alert]]
        name = "FridgeDoorOpen"
        device = "fridge"
        when = "door_open"
        for = "10s"
        summary = "door of {device} open"
        [[notify]]
        kind = "webhook"
        name = "hook"
        url = "http://127.0.0.1:9/hook"
        repeat_interval = "1h"
        """

    static func config(_ extra: String = "") throws -> StationConfig {
        try StationConfigLoader.load(
            text: text + extra, path: "/tmp/engine-test.toml", extraProfilePaths: [BuildPaths.repo + "/devices"])
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    /// A point that answered "no reading" (a sentinel).
    static let noReading: Double? = nil

    /// A healthy cabinet read at `at` (all slots on, batteries in, cool, no smoke), with overrides.
    static func cabinet(at: Date, _ overrides: [String: Double?] = [:], failing: Set<String> = [])
        -> StationSnapshot.Device
    {
        var values: [String: Double?] = [
            "smoke": 0, "door_open": 0,
            "slot1_relay": 1, "slot1_battery": 1, "slot1_temp": 25, "slot1_current": 1.5,
            "slot2_relay": 1, "slot2_battery": 1, "slot2_temp": 25, "slot2_current": 1.5,
        ]
        for (k, v) in overrides { values.updateValue(v, forKey: k) }
        var points: [String: StationSnapshot.Point] = [:]
        for (k, v) in values { points[k] = .init(value: v, readAt: at, failing: failing.contains(k)) }
        return .init(state: .online, inMaintenance: false, points: points)
    }

    static func fridge(at: Date, door: Double = 0, temp: Double = 4) -> StationSnapshot.Device {
        .init(
            state: .online, inMaintenance: false,
            points: [
                "door_open": .init(value: door, readAt: at, failing: false),
                "cabinet_temp": .init(value: temp, readAt: at, failing: false),
            ])
    }

    static func snapshot(cabinet: StationSnapshot.Device, fridge: StationSnapshot.Device) -> StationSnapshot {
        StationSnapshot(devices: ["cabinet": cabinet, "fridge": fridge])
    }

    /// The switch-offs among actions.
    static func switchOffs(_ actions: [AlertAction]) -> [(slot: String, kind: InterlockLogic.Kind)] {
        actions.compactMap {
            if case .switchOff(let slot, _, let kind, _) = $0 { return (slot, kind) }
            return nil
        }
    }

    /// Notifications queued, as (target, status, alertname) from the webhook payloads.
    static func notifications(_ actions: [AlertAction]) -> [(String, String, String)] {
        actions.flatMap { action -> [(String, String, String)] in
            guard case .save(_, let outbox) = action else { return [] }
            return outbox.compactMap { o in
                guard let j = JSON.parse(Data(o.payload.utf8)), let status = j["status"]?.string,
                    let name = j["alerts"]?.array?.first?["labels"]?["alertname"]?.string
                else { return nil }
                return (o.target, status, name)
            }
        }
    }
}
