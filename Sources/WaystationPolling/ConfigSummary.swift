import WaystationCore

/// The human summary `waystationd --check-config` prints.
public enum ConfigSummary {
    public static func render(_ station: StationConfig) -> String {
        var lines = ["station \(station.station.id) \"\(station.station.name)\" capacity \(station.station.capacity)"]
        let planner = RequestPlanner()
        for bus in station.buses {
            let devices = station.devices(onBus: bus.name)
            let endpoint: String
            switch bus.transport {
            case .tcp(let host, let port): endpoint = "tcp \(host):\(port)"
            case .rtu(let serial, let baud, let parity, let d, let s, _):
                endpoint = "rtu \(serial) \(baud) \(d)\(parity.letter)\(s)"
            }
            lines.append("bus \(bus.name): \(endpoint), \(devices.count) device(s)")
            for d in devices {
                let requests = planner.plan(d.profile.points, profile: d.profile).count
                lines.append(
                    "  \(d.id): \(d.profile.name) (\(d.profile.kind.rawValue)) unit \(d.unit), \(d.profile.points.count) points, \(requests) read(s) every \(DurationParser.format(d.interval))"
                )
            }
        }
        lines.append("config ok")
        return lines.joined(separator: "\n")
    }
}
