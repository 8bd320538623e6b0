#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Loads and validates a station config and the profiles it names.
public enum StationConfigLoader {
    /// Installed profile directories, searched after the config's own `[profiles] paths`.
    public static let defaultProfilePaths = ["/etc/waystation/devices", "/usr/share/waystation/devices"]

    static func load(source: TOMLSource, extraProfilePaths: [String]) throws(ConfigErrors) -> StationConfig {
        var errors: [ConfigError] = []
        let root = TableReader(source: source, table: source.root, section: nil)
        var absolute = source.path
        if !absolute.hasPrefix("/") {
            absolute = PathText.appending(FileManager.default.currentDirectoryPath, absolute)
        }
        let baseDir = PathText.parent(absolute)
        func resolve(_ p: String) -> String {
            normalise(p.hasPrefix("/") ? p : PathText.appending(baseDir, p))
        }

        // [station]
        var station = StationConfig.Station(id: "", name: "", capacity: 0)
        if let t = root.subtable("station") {
            let r = TableReader(source: source, table: t, section: "station")
            station.id = r.string("id", required: true) ?? ""
            station.name = r.string("name", default: station.id) ?? station.id
            station.capacity = r.int("capacity", range: 0...100_000, default: 0) ?? 0
            station.district = r.string("district")
            station.address = r.string("address")
            if let zone = r.string("time_zone") {
                if LocalTime.zoneExists(zone) {
                    station.timeZone = zone
                } else {
                    r.report(
                        "time_zone",
                        "unknown time zone \"\(zone)\" (a name under /usr/share/zoneinfo, e.g. Asia/Shanghai)")
                }
            }
            errors += r.finish()
        } else {
            errors.append(root.error("station", "missing [station] table with id, name, capacity"))
        }

        // [storage]
        var storage = StationConfig.Storage(
            path: "/var/lib/waystation/station.db", retainValues: .seconds(14 * 86400),
            retainAggregates: .seconds(400 * 86400), heartbeat: .seconds(900))
        if let t = root.subtable("storage") {
            let r = TableReader(source: source, table: t, section: "storage")
            storage.path = resolve(r.string("path", default: storage.path) ?? storage.path)
            storage.retainValues = r.duration("retain_values", default: storage.retainValues) ?? storage.retainValues
            storage.retainAggregates =
                r.duration("retain_aggregates", default: storage.retainAggregates) ?? storage.retainAggregates
            storage.heartbeat = r.duration("heartbeat", default: storage.heartbeat) ?? storage.heartbeat
            storage.retainAlerts = r.duration("retain_alerts", default: storage.retainAlerts) ?? storage.retainAlerts
            storage.flushInterval =
                r.duration("flush_interval", default: storage.flushInterval) ?? storage.flushInterval
            storage.requireSynchronisedClock = r.bool("require_synchronised_clock", default: true)
            errors += r.finish()
        }

        // [control]
        var control = StationConfig.Control(socket: "/run/waystation/control.sock", adminGroup: "waystation-admin")
        if let t = root.subtable("control") {
            let r = TableReader(source: source, table: t, section: "control")
            control.socket = resolve(r.string("socket", default: control.socket) ?? control.socket)
            control.adminGroup = r.string("admin_group", default: control.adminGroup)
            control.kioskGroup = r.string("kiosk_group", default: control.kioskGroup)
            control.uplinkGroup = r.string("uplink_group", default: control.uplinkGroup)
            control.idleTimeout = r.duration("idle_timeout", default: control.idleTimeout) ?? control.idleTimeout
            if control.idleTimeout < .seconds(1) { r.report("idle_timeout", "must be at least 1s") }
            errors += r.finish()
        }

        // [profiles]
        var profilePaths: [String] = []
        if let t = root.subtable("profiles") {
            let r = TableReader(source: source, table: t, section: "profiles")
            profilePaths = r.stringArray("paths").map(resolve)
            errors += r.finish()
        }
        profilePaths += extraProfilePaths

        // [polling]
        var polling = StationConfig.Polling()
        if let t = root.subtable("polling") {
            let r = TableReader(source: source, table: t, section: "polling")
            polling.offlineAfterFailures =
                r.int("offline_after_failures", range: 1...1000, default: polling.offlineAfterFailures)
                ?? polling.offlineAfterFailures
            polling.offlineAfter = r.duration("offline_after", default: polling.offlineAfter) ?? polling.offlineAfter
            polling.maxBackoff = r.duration("max_backoff", default: polling.maxBackoff) ?? polling.maxBackoff
            polling.mergeGap = r.int("merge_gap", range: 0...125, default: polling.mergeGap) ?? polling.mergeGap
            errors += r.finish()
        }

        // [visits]
        var visits = StationConfig.Visits()
        visits.secretPath = PathText.appending(PathText.parent(storage.path), "visit-secret")
        if let t = root.subtable("visits") {
            let r = TableReader(source: source, table: t, section: "visits")
            let categories = r.stringArray("categories", default: visits.categories)
            if categories.isEmpty || categories.contains(where: \.isEmpty) {
                r.report("categories", "expected a non-empty list of non-empty names")
            } else {
                visits.categories = categories
            }
            visits.maxStay = r.duration("max_stay", default: visits.maxStay) ?? visits.maxStay
            visits.retention = r.duration("retention", default: visits.retention) ?? visits.retention
            if let secret = r.string("secret_path") { visits.secretPath = resolve(secret) }
            errors += r.finish()
        }

        // [log]
        var logLevel = "info"
        if let t = root.subtable("log") {
            let r = TableReader(source: source, table: t, section: "log")
            logLevel =
                r.oneOf("level", ["trace", "debug", "info", "notice", "warning", "error", "critical"], default: "info")
                ?? "info"
            errors += r.finish()
        }

        let buses = parseBuses(root: root, source: source, resolve: resolve, errors: &errors)
        let devices = parseDevices(
            root: root, source: source, buses: buses, profilePaths: profilePaths, errors: &errors)
        let byId = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

        let (slots, interlock) = parseInterlocks(root: root, source: source, devices: byId, errors: &errors)

        // [[alert]]: station rules; every point they name must exist on the devices they apply to.
        var alerts: [AlertRuleSpec] = []
        for (i, t) in root.tables("alert").enumerated() {
            let r = TableReader(source: source, table: t, section: "alert", index: i)
            if let rule = AlertRuleReader.read(r, allowTarget: true) {
                var targets = devices
                if let id = rule.device {
                    if let d = byId[id] {
                        targets = [d]
                    } else {
                        r.report("device", "no [[device]] with id \"\(id)\"")
                        targets = []
                    }
                } else if let kind = rule.kind {
                    targets = devices.filter { $0.profile.kind == kind }
                }
                for d in targets {
                    for point in rule.when.points where d.profile.point(named: point) == nil {
                        r.report("when", "device \"\(d.id)\" (profile \(d.profile.name)) has no point \"\(point)\"")
                    }
                }
                alerts.append(rule)
            }
            errors += r.finish()
        }
        var notify: [StationConfig.Notify] = []
        for (i, t) in root.tables("notify").enumerated() {
            let r = TableReader(source: source, table: t, section: "notify", index: i)
            let kindText = r.oneOf("kind", NotifyKind.allCases.map(\.rawValue), required: true)
            let kind = kindText.flatMap(NotifyKind.init) ?? .webhook
            let name = r.string("name", default: "\(kind.rawValue)-\(i + 1)") ?? kind.rawValue
            r.label = "[[notify]] \"\(name)\""
            let url = r.string("url")
            let command = r.stringArray("command")
            let timeout = r.duration("timeout", default: .seconds(10)) ?? .seconds(10)
            let repeatInterval = r.duration("repeat_interval", default: .seconds(4 * 3600)) ?? .seconds(4 * 3600)
            let resend = r.duration("resend_interval", default: .seconds(60)) ?? .seconds(60)
            let reports = r.bool("reports", default: false)
            if reports, kind != .webhook { r.report("reports", "hazard reports go to webhook targets only") }
            if kind == .exec, command.isEmpty {
                r.report("command", "an exec target needs command = [\"program\", \"arg\" …]")
            }
            var tls = (ca: r.string("ca"), certificate: r.string("certificate"), key: r.string("key"))
            if kind != .exec {
                if let url {
                    let scheme = URL(string: url)?.scheme?.lowercased()
                    if scheme != "http" && scheme != "https" || URL(string: url)?.host?.isEmpty != false {
                        r.report(
                            "url", "expected an http(s)://host[:port]/path URL, got \"\(HTTPRedaction.redact(url))\"")
                    } else if scheme == "http", tls.ca != nil || tls.certificate != nil || tls.key != nil {
                        r.report("url", "ca, certificate and key apply to https:// URLs only")
                    }
                } else {
                    r.report("url", "missing; a \(kind.rawValue) target needs a url")
                }
                if (tls.certificate == nil) != (tls.key == nil) {
                    r.report(
                        tls.key == nil ? "key" : "certificate", "a client certificate needs both certificate and key")
                }
                tls = (tls.ca.map(resolve), tls.certificate.map(resolve), tls.key.map(resolve))
            } else if tls.ca != nil || tls.certificate != nil || tls.key != nil {
                r.report("kind", "ca, certificate and key apply to webhook and alertmanager targets only")
            }
            if notify.contains(where: { $0.name == name }) { r.report("name", "duplicate [[notify]] name \"\(name)\"") }
            errors += r.finish()
            guard kindText != nil else { continue }
            notify.append(
                .init(
                    name: name, kind: kind, url: url, command: command, timeout: timeout,
                    repeatInterval: repeatInterval,
                    resendInterval: resend, reports: reports, ca: tls.ca, certificate: tls.certificate,
                    key: tls.key))
        }

        let front = parseFront(root: root, source: source, devices: devices, errors: &errors)
        let district = parseDistrict(root: root, source: source, station: station.id, resolve: resolve, errors: &errors)
        errors += root.finish()
        if !errors.isEmpty { throw ConfigErrors(errors) }
        var config = StationConfig(
            path: source.path, station: station, storage: storage, control: control, profilePaths: profilePaths,
            buses: buses, devices: devices, slots: slots, smoke: interlock.smoke, alerts: alerts, notify: notify,
            logLevel: logLevel)
        config.interlock = interlock
        config.polling = polling
        config.visits = visits
        config.front = front
        config.district = district
        return config
    }

    /// Removes `.` and `..` components without resolving symlinks (a serial path is often a link).
    static func normalise(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", !parts.isEmpty, parts.last != ".." {
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    static func parseBuses(
        root: TableReader, source: TOMLSource, resolve: (String) -> String, errors: inout [ConfigError]
    ) -> [StationConfig.Bus] {
        var buses: [StationConfig.Bus] = []
        for (i, t) in root.tables("bus").enumerated() {
            let r = TableReader(source: source, table: t, section: "bus", index: i)
            let name = r.string("name", required: true) ?? ""
            r.label = "[[bus]] \"\(name)\""
            if buses.contains(where: { $0.name == name }) { r.report("name", "duplicate bus name \"\(name)\"") }
            let transportName = r.oneOf("transport", ["rtu", "tcp", "rtu-over-tcp"], required: true)
            let timeout = r.duration("timeout", default: .milliseconds(500)) ?? .milliseconds(500)
            let byteTimeout = r.duration("byte_timeout", default: .milliseconds(100)) ?? .milliseconds(100)
            let frameDelay = r.duration("frame_delay", default: .zero) ?? .zero
            let reconnectMin = r.duration("reconnect_min", default: .milliseconds(200)) ?? .milliseconds(200)
            let reconnectMax = r.duration("reconnect_max", default: .seconds(30)) ?? .seconds(30)
            var transport: StationConfig.Bus.Transport?
            switch transportName {
            case "tcp", "rtu-over-tcp":
                let host = r.string("host", required: true)
                let port = r.int("port", range: 1...65535, default: 502)
                if let host, let port {
                    transport =
                        transportName == "tcp" ? .tcp(host: host, port: port) : .rtuOverTCP(host: host, port: port)
                }
            case "rtu":
                let serial = r.string("serial", required: true)
                let baud = r.int("baud", range: 300...4_000_000, default: 9600) ?? 9600
                let parity =
                    r.oneOf("parity", StationConfig.Bus.Parity.allCases.map(\.rawValue), default: "none")
                    .flatMap(StationConfig.Bus.Parity.init(rawValue:)) ?? .none
                let dataBits = r.int("data_bits", range: 5...8, default: 8) ?? 8
                let stopBits = r.int("stop_bits", range: 1...2, default: 1) ?? 1
                let rs485 = r.bool("rs485", default: false)
                if let serial {
                    transport = .rtu(
                        serial: resolve(serial), baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits,
                        rs485: rs485)
                }
            default: break
            }
            errors += r.finish(allowing: transportName == "tcp" ? [] : [])
            if let transport {
                buses.append(
                    .init(
                        name: name, transport: transport, timeout: timeout, byteTimeout: byteTimeout,
                        frameDelay: frameDelay, reconnectMin: reconnectMin, reconnectMax: reconnectMax))
            }
        }
        return buses
    }

    static func parseDevices(
        root: TableReader, source: TOMLSource, buses: [StationConfig.Bus], profilePaths: [String],
        errors: inout [ConfigError]
    ) -> [StationConfig.Device] {
        var devices: [StationConfig.Device] = []
        var cache: [String: Profile] = [:]
        var seenIds: Set<String> = []
        var seenUnits: Set<String> = []
        for (i, t) in root.tables("device").enumerated() {
            let r = TableReader(source: source, table: t, section: "device", index: i)
            let id = r.string("id", required: true) ?? ""
            r.label = "[[device]] \"\(id)\""
            if !seenIds.insert(id).inserted { r.report("id", "duplicate device id \"\(id)\"") }
            let profileName = r.string("profile", required: true)
            let busName = r.string("bus", required: true)
            let bus = busName.flatMap { name in buses.first { $0.name == name } }
            if let busName, bus == nil {
                r.report("bus", "no [[bus]] named \"\(busName)\"; known: \(buses.map(\.name).joined(separator: ", "))")
            }
            let unitRange = (bus?.isRTU ?? false) ? 1...247 : 0...255
            let unit = r.int("unit", required: true, range: unitRange)
            if let unit, let busName, !seenUnits.insert("\(busName)#\(unit)").inserted {
                r.report("unit", "unit \(unit) is already used by another device on bus \"\(busName)\"")
            }
            let interval = r.duration("interval", default: .seconds(5)) ?? .seconds(5)
            if interval < .milliseconds(10) { r.report("interval", "must be at least 10ms") }
            var profile: Profile?
            if let profileName {
                if let cached = cache[profileName] {
                    profile = cached
                } else {
                    do {
                        let loaded = try ProfileLoader.loadAll(name: profileName, searchPaths: profilePaths)
                        cache[profileName] = loaded
                        profile = loaded
                    } catch {
                        if error.errors.count == 1, error.errors[0].key == nil, error.errors[0].line == nil {
                            r.report("profile", error.errors[0].message)
                        } else {
                            errors += error.errors
                        }
                    }
                }
            }
            errors += r.finish()
            if let profile, let unit, bus != nil {
                devices.append(.init(id: id, profile: profile, bus: busName ?? "", unit: unit, interval: interval))
            }
        }
        return devices
    }

    static func resolveRef(
        _ text: String, r: TableReader, key: String, devices: [String: StationConfig.Device],
        wantWritableBool: Bool = false
    ) -> StationConfig.PointRef? {
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            r.report(key, "expected \"device.point\", got \"\(text)\"")
            return nil
        }
        guard let device = devices[parts[0]] else {
            r.report(key, "no [[device]] with id \"\(parts[0])\" (in \"\(text)\")")
            return nil
        }
        guard let point = device.profile.point(named: parts[1]) else {
            r.report(key, "device \"\(parts[0])\" (profile \(device.profile.name)) has no point \"\(parts[1])\"")
            return nil
        }
        if wantWritableBool, !(point.writable && point.type == .bool) {
            r.report(key, "\"\(text)\" must be a writable bool point (a relay coil)")
        }
        return .init(device: parts[0], point: parts[1])
    }

    static func pointRef(
        _ r: TableReader, _ key: String, required: Bool = false, devices: [String: StationConfig.Device],
        wantWritableBool: Bool = false
    ) -> StationConfig.PointRef? {
        guard let text = r.string(key, required: required) else { return nil }
        return resolveRef(text, r: r, key: key, devices: devices, wantWritableBool: wantWritableBool)
    }
}

extension ProfileLoader {
    /// Loads a profile by name, reporting every problem in it.
    public static func loadAll(name: String, searchPaths: [String]) throws(ConfigErrors) -> Profile {
        for dir in searchPaths {
            let path = PathText.appending(dir, "\(name).toml")
            if FileManager.default.fileExists(atPath: path) {
                switch parse(path: path) {
                case .success(let p): return p
                case .failure(let e): throw e
                }
            }
        }
        throw ConfigErrors([
            ConfigError(
                file: "\(name).toml",
                message: "profile \"\(name)\" not found; looked in \(searchPaths.joined(separator: ", "))")
        ])
    }
}
