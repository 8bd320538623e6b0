import Prometheus
import WaystationProtocol

/// `/metrics`: the daemon's figures (`GetMetrics`) in the Prometheus text format.
///
/// swift-prometheus renders the gauges and counters. Its counters only count up from where they
/// were made, and the daemon's counters are absolute totals since it started, so each scrape builds
/// a fresh registry and raises each counter once by the daemon's total (Prometheus handles the reset
/// when the daemon restarts). Its histograms only take observations, not bucket counts, so the
/// request-duration histogram mirrored from the daemon is rendered by hand below.
public enum MetricsExposition {
    /// The station as the web process knows it from the config (for `waystation_build_info` when the
    /// daemon cannot be reached).
    public struct Identity: Sendable {
        public var version: String
        public var station: String
        public var district: String?
        public init(version: String, station: String, district: String?) {
            self.version = version
            self.station = station
            self.district = district
        }
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ m: StationMetrics?, identity: Identity) -> String {
        let r = PrometheusCollectorRegistry()
        let build = [
            ("version", m?.version ?? identity.version), ("station", m?.station ?? identity.station),
            ("district", m?.district ?? identity.district ?? ""), ("name", m?.stationName ?? ""),
            ("address", m?.address ?? ""),
        ]
        gauge(r, "waystation_build_info", "Always 1; the labels say which station and which version.", build, 1)
        gauge(r, "waystation_daemon_up", "1 when waystationd answered this scrape, else 0.", [], m == nil ? 0 : 1)
        guard let m else { return r.emitToString() }

        for d in m.devices {
            let device = [("device", d.id), ("kind", d.kind)]
            for state in DeviceState.allCases {
                gauge(
                    r, "waystation_device_state", "1 for the device's current health state, 0 for the others.",
                    device + [("state", state.rawValue)], d.state == state ? 1 : 0)
            }
            gauge(
                r, "waystation_device_maintenance", "1 while the device is in maintenance (its alerts are held back).",
                device, d.maintenance ? 1 : 0)
            if let t = d.lastGood {
                gauge(
                    r, "waystation_device_last_good_read_timestamp_seconds",
                    "Unix time of the device's last successful poll.", device, t)
            }
        }
        for p in m.points {
            gauge(
                r, "waystation_point_value",
                "A point's latest good value, in the unit its label names (switches are 0 or 1).",
                [("device", p.device), ("kind", p.kind), ("point", p.point), ("unit", UnitLabel.word(p.unit))], p.value)
        }
        for b in m.buses {
            for c in b.requests {
                counter(
                    r, "waystation_bus_requests_total",
                    "Modbus requests on the bus by result, since waystationd started.",
                    [("bus", b.bus), ("result", c.result)], c.count)
            }
            counter(
                r, "waystation_bus_reconnects_total",
                "Connections to the bus reopened after the first, since waystationd started.", [("bus", b.bus)],
                b.reconnects)
        }
        for a in m.alerts {
            gauge(
                r, "waystation_alerts", "Alerts pending or firing, by severity.",
                [("state", a.state), ("severity", a.severity)], a.count)
        }
        for s in m.slots {
            // `reason`: why the slot is held off (overheated, no_battery, smoke, sensor_lost,
            // temperature_rising); empty while it is not.
            gauge(
                r, "waystation_slot_interlocked",
                "1 while an interlock holds the charging slot off (until an admin re-enables it); reason says why.",
                [("slot", s.slot), ("reason", s.interlocked ? (s.kind?.rawValue ?? "unknown") : "")], s.interlocked ? 1 : 0)
        }
        gauge(r, "waystation_occupancy_riders", "Riders checked in now.", [], m.occupancy)
        gauge(r, "waystation_capacity_riders", "Seats at the station.", [], m.capacity)
        for c in m.checkIns {
            counter(
                r, "waystation_checkins_total", "Check-ins by rider category since waystationd started (counts only).",
                [("category", c.category)], c.count)
        }
        if let d = m.today {
            day(r, d)
        }
        gauge(r, "waystation_storage_ok", "1 when the database answers.", [], m.storageOk ? 1 : 0)
        counter(
            r, "waystation_storage_errors_total", "Failed writes of poll history since waystationd started.", [],
            m.storageErrors)
        counter(
            r, "waystation_storage_written_bytes_total",
            "Bytes waystationd caused to be written to storage since it started (flash wear).", [],
            m.storageWrittenBytes)
        gauge(r, "waystation_database_size_bytes", "Size of the SQLite database and its WAL.", [], m.databaseSizeBytes)
        for o in m.outbox {
            gauge(
                r, "waystation_outbox_pending", "Notifications and reports queued for a target and not yet delivered.",
                [("target", o.target)], o.pending)
        }
        return r.emitToString() + histogram(m.buses)
    }

    static func gauge(
        _ r: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)],
        _ value: some BinaryInteger
    ) {
        gauge(r, name, help, labels, Double(value))
    }

    static func gauge(
        _ r: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)], _ value: Double
    ) {
        let d = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        let g = labels.isEmpty ? r.makeGauge(descriptor: d) : r.makeGauge(descriptor: d, labels: labels)
        g.set(to: value)
    }

    static func counter(
        _ r: PrometheusCollectorRegistry, _ name: String, _ help: String, _ labels: [(String, String)],
        _ value: some BinaryInteger
    ) {
        let d = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        let c = labels.isEmpty ? r.makeCounter(descriptor: d) : r.makeCounter(descriptor: d, labels: labels)
        c.increment(by: Int64(value))
    }

    /// `waystation_bus_request_duration_seconds`, from the daemon's cumulative bucket counts.
    static func histogram(_ buses: [MetricsBus]) -> String {
        guard !buses.isEmpty else { return "" }
        let name = "waystation_bus_request_duration_seconds"
        var out = "# HELP \(name) How long Modbus requests on the bus took, since waystationd started.\n"
        out += "# TYPE \(name) histogram\n"
        for b in buses {
            let bus = "bus=\"\(escape(b.bus))\""
            for (bound, count) in zip(b.bucketBounds, b.buckets) {
                out += "\(name)_bucket{\(bus),le=\"\(number(bound))\"} \(count)\n"
            }
            out += "\(name)_bucket{\(bus),le=\"+Inf\"} \(b.durationCount)\n"
            out += "\(name)_sum{\(bus)} \(number(b.durationSum))\n"
            out += "\(name)_count{\(bus)} \(b.durationCount)\n"
        }
        return out
    }

    static func number(_ d: Double) -> String {
        d.isFinite ? "\(d)" : (d.isNaN ? "NaN" : (d > 0 ? "+Inf" : "-Inf"))
    }

    /// A label value as the text format wants it.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// The `unit` label of `waystation_point_value`: the profile's unit text in base-unit words, as
/// Prometheus names units ("°C" → "celsius", "kWh" → "kilowatt_hours"); "" when the point has none.
public enum UnitLabel {
    static let words: [String: String] = [
        "°C": "celsius", "℃": "celsius", "C": "celsius", "degC": "celsius", "°F": "fahrenheit",
        "W": "watts", "kW": "kilowatts", "V": "volts", "A": "amperes", "mA": "milliamperes",
        "kWh": "kilowatt_hours", "Wh": "watt_hours", "Hz": "hertz", "%": "percent", "h": "hours", "s": "seconds",
        "VA": "volt_amperes", "var": "volt_amperes_reactive", "kvarh": "kilovolt_ampere_reactive_hours",
        "Pa": "pascals", "bar": "bars",
    ]

    public static func word(_ unit: String?) -> String {
        guard let unit = unit?.trimmingCharacters(in: .whitespaces), !unit.isEmpty else { return "" }
        if let w = words[unit] { return w }
        let folded = unit.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }
        return String(folded)
    }
}

extension MetricsExposition {
    /// The station's local calendar day so far: check-ins, check-outs, unique riders, mean stay.
    static func day(_ r: PrometheusCollectorRegistry, _ d: DayFigures) {
        gauge(
            r, "waystation_day_start_timestamp_seconds",
            "Unix time of the station's local midnight that the waystation_day_* figures count from.", [], d.start)
        gauge(r, "waystation_day_checkins", "Check-ins since local midnight (station time).", [], d.checkIns)
        gauge(r, "waystation_day_checkouts", "Check-outs since local midnight (station time).", [], d.checkOuts)
        gauge(
            r, "waystation_day_unique_riders", "Different riders at the station since local midnight (riders today).",
            [], d.uniqueRiders)
        if let stay = d.meanStay {
            gauge(
                r, "waystation_day_mean_stay_seconds", "Mean stay of the visits that ended since local midnight.", [],
                stay)
        }
    }
}
