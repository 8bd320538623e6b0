extension StationConfigLoader {
    /// `[[slot]]` and `[interlock]`: what each charging slot reads and switches, its limits, and how
    /// long a sensor may be unknown before the slot is cut (fail safe).
    static func parseInterlocks(
        root: TableReader, source: TOMLSource, devices byId: [String: StationConfig.Device],
        errors: inout [ConfigError]
    ) -> ([StationConfig.Slot], StationConfig.Interlock) {
        func interval(_ ref: StationConfig.PointRef?) -> Duration {
            guard let ref, let d = byId[ref.device] else { return .seconds(1) }
            return d.profile.point(named: ref.point)?.interval ?? d.interval
        }
        var slots: [StationConfig.Slot] = []
        for (i, t) in root.tables("slot").enumerated() {
            let r = TableReader(source: source, table: t, section: "slot", index: i)
            let id = r.string("id", required: true) ?? ""
            r.label = "[[slot]] \"\(id)\""
            if slots.contains(where: { $0.id == id }) { r.report("id", "duplicate slot id \"\(id)\"") }
            let relay = pointRef(r, "relay", required: true, devices: byId, wantWritableBool: true)
            let temp = pointRef(r, "temperature", required: true, devices: byId)
            let maxTemp = r.double("max_temperature", required: true, range: -40...200) ?? 0
            let current = pointRef(r, "current", devices: byId)
            let battery = pointRef(r, "battery_present", devices: byId)
            let cycle = interval(temp)
            var maxRise: Double?
            if let text = r.string("max_rise") {
                maxRise = RateParser.perSecond(text)
                if maxRise == nil {
                    r.report(
                        "max_rise", "expected a rate like \"5 °C/min\" or \"0.2 °C/s\" (more than 0), got \"\(text)\"")
                }
            }
            let window = r.duration("rise_window", default: .seconds(60)) ?? .seconds(60)
            if window < cycle * 4 {
                r.report("rise_window", "must cover at least 4 poll cycles (\(DurationParser.format(cycle * 4)))")
            }
            // Two poll cycles, and never less than two seconds (a start-up, a reconnect).
            let grace = r.duration("sensor_grace", default: max(cycle * 2, .seconds(2))) ?? max(cycle * 2, .seconds(2))
            errors += r.finish()
            if let relay, let temp {
                var slot = StationConfig.Slot(
                    id: id, relay: relay, temperature: temp, maxTemperature: maxTemp, current: current,
                    batteryPresent: battery)
                slot.maxRise = maxRise
                slot.riseWindow = window
                slot.sensorGrace = grace
                slot.staleAfter = max(cycle * 3, .seconds(3))
                slots.append(slot)
            }
        }
        var interlock = StationConfig.Interlock()
        if let t = root.subtable("interlock") {
            let r = TableReader(source: source, table: t, section: "interlock")
            for text in r.stringArray("smoke") {
                if let ref = resolveRef(text, r: r, key: "smoke", devices: byId) { interlock.smoke.append(ref) }
            }
            let cycle = interlock.smoke.map { interval($0) }.max() ?? .seconds(1)
            let grace = max(cycle * 2, .seconds(2))
            interlock.smokeGrace = r.duration("smoke_grace", default: grace) ?? grace
            interlock.smokeStaleAfter = max(cycle * 3, .seconds(3))
            errors += r.finish()
        }
        return (slots, interlock)
    }
}

/// Rates of rise: `5 °C/min`, `0.2 °C/s`, `5/min`.
public enum RateParser {
    /// Degrees per second, or nil when the text is not a finite positive rate.
    public static func perSecond(_ text: String) -> Double? {
        let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingWhitespace() }
        guard parts.count == 2 else { return nil }
        var number = parts[0]
        for unit in ["°C", "°c", "C", "K"] where number.hasSuffix(unit) {
            number = number.dropLast(unit.count).trimmingWhitespace()
            break
        }
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        let per: Double
        switch parts[1] {
        case "s", "sec": per = 1
        case "min", "m": per = 60
        case "h": per = 3600
        default: return nil
        }
        return value / per
    }
}
