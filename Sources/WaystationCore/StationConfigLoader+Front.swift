extension StationConfigLoader {
    /// `[web]`, `[[service]]`, `[[hazard]]` and `[kiosk]`; problems are added to `errors`.
    static func parseFront(
        root: TableReader, source: TOMLSource, devices: [StationConfig.Device], errors: inout [ConfigError]
    ) -> StationConfig.Front {
        var front = StationConfig.Front()
        if let t = root.subtable("web") {
            let r = TableReader(source: source, table: t, section: "web")
            front.web.listen = address(r, "listen") ?? front.web.listen
            front.web.metricsListen = address(r, "metrics_listen")
            errors += r.finish()
        }
        for (i, t) in root.tables("service").enumerated() {
            let r = TableReader(source: source, table: t, section: "service", index: i)
            let name = r.string("name", required: true) ?? ""
            r.label = "[[service]] \"\(name)\""
            if name.isEmpty, r.has("name") { r.report("name", "must not be empty") }
            let nameEn = r.string("name_en")
            let days = r.stringArray("days", default: StationConfig.Service.dayNames).map { $0.lowercased() }
            if days.isEmpty { r.report("days", "expected at least one day") }
            for day in days where !StationConfig.Service.dayNames.contains(day) {
                r.report(
                    "days",
                    "unknown day \"\(day)\"; expected \(StationConfig.Service.dayNames.joined(separator: ", "))")
            }
            let hours = r.string("hours", required: true) ?? ""
            if r.has("hours"), !validHours(hours) {
                r.report("hours", "expected \"HH:MM-HH:MM\" with the start before the end, got \"\(hours)\"")
            }
            errors += r.finish()
            let ordered = StationConfig.Service.dayNames.filter(days.contains)
            front.services.append(.init(name: name, nameEn: nameEn, days: ordered, hours: hours))
        }
        let hazardTables = root.tables("hazard")
        if !hazardTables.isEmpty { front.hazards = [] }
        for (i, t) in hazardTables.enumerated() {
            let r = TableReader(source: source, table: t, section: "hazard", index: i)
            let id = r.string("id", required: true) ?? ""
            r.label = "[[hazard]] \"\(id)\""
            if r.has("id"),
                id.isEmpty || id.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_")) })
            {
                r.report("id", "expected ASCII letters, digits and '_', got \"\(id)\"")
            }
            if front.hazards.contains(where: { $0.id == id }) { r.report("id", "duplicate [[hazard]] id \"\(id)\"") }
            let name = r.string("name", required: true) ?? id
            let nameEn = r.string("name_en")
            let points = r.int("points", required: true, range: 0...10_000) ?? 0
            errors += r.finish()
            front.hazards.append(.init(id: id, name: name, nameEn: nameEn, points: points))
        }
        if let t = root.subtable("kiosk") {
            let r = TableReader(source: source, table: t, section: "kiosk")
            let presets = r.stringArray("location_presets")
            for p in presets where p.isEmpty || p.count > 80 {
                r.report("location_presets", "each place must be 1 to 80 characters, got \"\(p)\"")
            }
            front.kiosk.locationPresets = presets
            front.kiosk.sessionTimeout =
                r.duration("session_timeout", default: front.kiosk.sessionTimeout) ?? front.kiosk.sessionTimeout
            front.kiosk.scanInterval =
                r.duration("scan_interval", default: front.kiosk.scanInterval) ?? front.kiosk.scanInterval
            front.kiosk.scansPerMinute =
                r.int("scans_per_minute", range: 1...10_000, default: front.kiosk.scansPerMinute)
                ?? front.kiosk.scansPerMinute
            if front.kiosk.sessionTimeout < .seconds(10) { r.report("session_timeout", "must be at least 10s") }
            front.kiosk.reportWindow =
                r.duration("report_window", default: front.kiosk.reportWindow) ?? front.kiosk.reportWindow
            if front.kiosk.reportWindow < .seconds(10) || front.kiosk.reportWindow > .seconds(600) {
                r.report("report_window", "must be 10s to 10m")
            }
            front.kiosk.emergencyPhone = phone(r, "emergency_phone")
            front.kiosk.staffPhone = phone(r, "staff_phone")
            errors += r.finish()
        }
        return front
    }

    /// A phone number as a rider dials it: digits, spaces, `+ - ( )`, 3 to 24 characters with a digit.
    static func phone(_ r: TableReader, _ key: String) -> String? {
        guard let text = r.string(key) else { return nil }
        let ok =
            (3...24).contains(text.count) && text.contains(where: \.isNumber)
            && text.allSatisfy { $0.isASCII && ($0.isNumber || " +-()".contains($0)) }
        guard ok else {
            r.report(key, "expected a phone number (digits, spaces, + - ( ), 3 to 24 characters), got \"\(text)\"")
            return nil
        }
        return text
    }

    static func address(_ r: TableReader, _ key: String) -> StationConfig.ListenAddress? {
        guard let text = r.string(key) else { return nil }
        guard let a = StationConfig.ListenAddress(text) else {
            r.report(key, "expected \"HOST:PORT\" (e.g. \"127.0.0.1:8480\" or \"[::1]:8480\"), got \"\(text)\"")
            return nil
        }
        return a
    }

    /// `HH:MM-HH:MM`, 00:00 to 24:00, the start before the end.
    static func validHours(_ text: String) -> Bool {
        func minutes(_ s: Substring) -> Int? {
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]),
                let m = Int(parts[1]), (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0
            else { return nil }
            return h * 60 + m
        }
        let halves = text.split(separator: "-", omittingEmptySubsequences: false)
        guard halves.count == 2, let a = minutes(halves[0]), let b = minutes(halves[1]) else { return false }
        return a < b
    }
}
