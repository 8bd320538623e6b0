import WaystationCore

/// The human summary `waystationd --check-config` prints, with each RTU bus's wire time.
public enum ConfigSummary {
    /// Seconds one read takes on an RTU line: request and reply frames, the 3.5-character silences,
    /// and a typical device turnaround.
    public static func rtuSeconds(_ r: ReadRequest, baud: Int, bitsPerChar: Int, turnaround: Double = 0.010) -> Double {
        let replyData = r.table.isBits ? (r.count + 7) / 8 : r.count * 2
        let chars = 8.0 + Double(5 + replyData) + 7  // request, reply, two inter-frame silences
        return chars * Double(bitsPerChar) / Double(baud) + turnaround
    }

    public static func render(_ station: StationConfig) -> (text: String, warnings: [String]) {
        var lines = ["station \(station.station.id) \"\(station.station.name)\" capacity \(station.station.capacity)"]
        var warnings: [String] = []
        let planner = RequestPlanner(maxGap: station.polling.mergeGap)
        var totalRequests = 0
        for bus in station.buses {
            let devices = station.devices(onBus: bus.name)
            let endpoint: String
            var rtu: (baud: Int, bits: Int)?
            switch bus.transport {
            case .tcp(let host, let port): endpoint = "tcp \(host):\(port)"
            case .rtuOverTCP(let host, let port): endpoint = "rtu-over-tcp \(host):\(port)"
            case .rtu(let serial, let baud, let parity, let d, let s, _):
                endpoint = "rtu \(serial) \(baud) \(d)\(parity.letter)\(s)"
                rtu = (baud, 1 + d + s + (parity == .none ? 0 : 1))
            }
            lines.append("bus \(bus.name): \(endpoint), \(devices.count) device(s)")
            var load = 0.0
            for d in devices {
                let requests = planner.plan(d.profile.points, profile: d.profile)
                totalRequests += requests.count
                var text =
                    "  \(d.id): \(d.profile.name) (\(d.profile.kind.rawValue)) unit \(d.unit), \(d.profile.points.count) points, \(requests.count) read(s) every \(DurationParser.format(d.interval))"
                if let rtu {
                    let seconds = requests.reduce(0) { $0 + rtuSeconds($1, baud: rtu.baud, bitsPerChar: rtu.bits) }
                    load += seconds / d.interval.seconds
                    text += ", \(Int((seconds * 1000).rounded())) ms on the wire"
                }
                lines.append(text)
            }
            if rtu != nil, let shortest = devices.map(\.interval).min() {
                let percent = Int((load * 100).rounded())
                lines.append(
                    "  wire time: \(percent)% of the line (shortest interval \(DurationParser.format(shortest)))")
                if load > 1 {
                    warnings.append(
                        "bus \(bus.name): a poll cycle needs \(percent)% of the line's time at \(rtu?.baud ?? 0) baud; it cannot keep up — raise baud or intervals, or split the line"
                    )
                } else if load > 0.7 {
                    warnings.append("bus \(bus.name): the line is \(percent)% busy; little room for retries")
                }
            }
        }
        lines.append("\(station.devices.count) devices, \(totalRequests) read requests per cycle")
        lines += warnings.map { "warning: \($0)" }
        lines.append("config ok")
        return (lines.joined(separator: "\n"), warnings)
    }
}
