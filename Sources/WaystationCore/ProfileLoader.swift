#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Loads and validates appliance profiles.
public enum ProfileLoader {
    /// Loads `NAME.toml` from the first directory that has it.
    public static func load(name: String, searchPaths: [String]) throws(ConfigError) -> Profile {
        for dir in searchPaths {
            let path = PathText.appending(dir, "\(name).toml")
            if FileManager.default.fileExists(atPath: path) {
                return try load(path: path)
            }
        }
        throw ConfigError(
            file: "\(name).toml",
            message: "profile \"\(name)\" not found; looked in \(searchPaths.joined(separator: ", "))")
    }

    /// Loads and validates one profile file. Throws the first problem; use `validate` for all.
    public static func load(path: String) throws(ConfigError) -> Profile {
        let result = parse(path: path)
        switch result {
        case .success(let profile): return profile
        case .failure(let errors): throw errors.errors[0]
        }
    }

    /// Parses a profile, collecting every problem.
    public static func parse(path: String) -> Result<Profile, ConfigErrors> {
        let source: TOMLSource
        do { source = try TOMLSource(path: path) } catch { return .failure(ConfigErrors([error])) }
        return parse(source: source)
    }

    /// Parses profile text (for tests).
    public static func parse(text: String, path: String) -> Result<Profile, ConfigErrors> {
        let source: TOMLSource
        do { source = try TOMLSource(path: path, text: text) } catch { return .failure(ConfigErrors([error])) }
        return parse(source: source)
    }

    /// Parses profile bytes as a file holds them (the fuzzer feeds these).
    public static func parse(bytes: [UInt8], path: String) -> Result<Profile, ConfigErrors> {
        let source: TOMLSource
        do { source = try TOMLSource(path: path, bytes: bytes) } catch { return .failure(ConfigErrors([error])) }
        return parse(source: source)
    }

    static func parse(source: TOMLSource) -> Result<Profile, ConfigErrors> {
        let root = TableReader(source: source, table: source.root, section: nil)
        var errors: [ConfigError] = []
        guard let header = root.subtable("profile") else {
            errors.append(root.error(nil, "missing [profile] table (name, kind, word_order …)"))
            return .failure(ConfigErrors(errors + root.finish(allowing: ["point"])))
        }
        let p = TableReader(source: source, table: header, section: "profile")
        let name = p.string("name", required: true) ?? ""
        let kind =
            p.oneOf("kind", Profile.Kind.allCases.map(\.rawValue), required: true)
            .flatMap(Profile.Kind.init(rawValue:)) ?? .other
        let description = p.string("description")
        let order =
            p.oneOf("word_order", WordOrder.allCases.map(\.rawValue), default: "big")
            .flatMap(WordOrder.init(rawValue:)) ?? .big
        let maxRegs = p.int("max_registers_per_read", range: 1...125, default: 125) ?? 125
        let maxBits = p.int("max_bits_per_read", range: 1...2000, default: 2000) ?? 2000
        let holes = p.oneOf("holes", ["error", "zero"], default: "error") ?? "error"
        errors += p.finish()

        var points: [PointSpec] = []
        var pointTables: [TOMLTable] = []
        for (i, table) in root.tables("point").enumerated() {
            let r = TableReader(source: source, table: table, section: "point", index: i)
            if let point = parsePoint(r) {
                points.append(point)
                pointTables.append(table)
            }
            errors += r.finish()
        }
        var alerts: [AlertRuleSpec] = []
        for (i, table) in root.tables("alert").enumerated() {
            let r = TableReader(source: source, table: table, section: "alert", index: i)
            if let rule = AlertRuleReader.read(r, allowTarget: false) {
                for point in rule.when.points where !points.contains(where: { $0.name == point }) {
                    r.report("when", "names point \"\(point)\", which this profile does not have")
                }
                alerts.append(rule)
            }
            errors += r.finish()
        }
        errors += root.finish()
        if points.isEmpty, errors.isEmpty {
            errors.append(root.error(nil, "a profile needs at least one [[point]]"))
        }
        errors += checkOverlaps(points, tables: pointTables, source: source)

        if !errors.isEmpty { return .failure(ConfigErrors(errors)) }
        var profile = Profile(
            name: name, kind: kind, description: description, wordOrder: order,
            maxRegistersPerRead: maxRegs, maxBitsPerRead: maxBits, points: points, path: source.path)
        profile.holesReadAsZero = holes == "zero"
        profile.alerts = alerts
        return .success(profile)
    }

    static func parsePoint(_ r: TableReader) -> PointSpec? {
        let name = r.string("name", required: true)
        if let name { r.label = "[[point]] \"\(name)\"" }
        if let name, name.isEmpty || name.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            r.report("name", "expected letters, digits and '_', got \"\(name)\"")
        }
        let table = r.oneOf("table", RegisterTable.allCases.map(\.rawValue), required: true)
            .flatMap(RegisterTable.init(rawValue:))
        let address = r.int("address", required: true, range: 0...65535)
        let type = r.oneOf("type", ValueType.allCases.map(\.rawValue), required: true)
            .flatMap(ValueType.init(rawValue:))
        let scale = r.double("scale", range: -1e9...1e9, default: 1) ?? 1
        let offset = r.double("offset", range: -1e9...1e9, default: 0) ?? 0
        let unit = r.string("unit")
        let deadband = r.double("deadband", range: 0...1e9, default: 0) ?? 0
        let writable = r.bool("writable", default: false)
        let min = r.double("min", range: -1e12...1e12)
        let max = r.double("max", range: -1e12...1e12)
        let description = r.string("description")
        let interval = r.duration("interval")
        let role = r.oneOf("role", PointRole.allCases.map(\.rawValue)).flatMap(PointRole.init(rawValue:))
        let sentinels = Set(r.intArray("sentinels").map { UInt32(truncatingIfNeeded: $0) })
        var labels: [Int: String] = [:]
        if let labelTable = r.subtable("labels") {
            for key in labelTable.keys {
                guard let code = Int(key) else {
                    r.report("labels", "label keys must be raw integer values, got \"\(key)\"")
                    continue
                }
                guard let text = labelTable[key]?.string else {
                    r.report("labels", "label for \(key) must be a string")
                    continue
                }
                labels[code] = text
            }
        }
        if scale == 0 { r.report("scale", "must not be 0") }
        if deadband < 0 { r.report("deadband", "must be 0 or more, got \(deadband)") }
        guard let name, let table, let address, let type else { return nil }

        if table.isBits, type != .bool {
            r.report("type", "\(table.displayName) hold single bits; expected type \"bool\", got \"\(type.rawValue)\"")
        }
        if !table.isBits, type == .bool {
            r.report("type", "\(table.displayName) hold 16-bit registers; \"bool\" is for coil or discrete")
        }
        if address + type.width - 1 > 65535 {
            r.report("address", "a \(type.rawValue) at \(address) runs past address 65535")
        }
        if writable, !table.isWritable {
            r.report(
                "writable", "\(table.displayName) are read-only on the wire; only coil and holding can be writable")
        }
        if writable, type != .bool, min == nil || max == nil {
            r.report(min == nil ? "min" : "max", "a writable numeric point needs both min and max limits")
        }
        if let min, let max, min > max {
            r.report("min", "min \(min) is greater than max \(max)")
        }
        var spec = PointSpec(
            name: name, table: table, address: address, type: type, scale: scale, offset: offset, unit: unit,
            deadband: deadband, writable: writable, min: min, max: max, labels: labels, sentinels: sentinels,
            interval: interval, description: description)
        spec.role = role
        return spec
    }

    /// Duplicate names and overlapping addresses; `tables[i]` is the table `points[i]` was read from.
    static func checkOverlaps(_ points: [PointSpec], tables: [TOMLTable], source: TOMLSource) -> [ConfigError] {
        func line(_ key: String, _ i: Int) -> Int? { tables[i].lines[key] ?? tables[i].line }
        var errors: [ConfigError] = []
        var names: Set<String> = []
        for (i, point) in points.enumerated() {
            if !names.insert(point.name).inserted {
                errors.append(
                    ConfigError(
                        file: source.path, line: line("name", i),
                        key: "[[point]] \"\(point.name)\" key 'name'", message: "duplicate point name"))
            }
        }
        for table in RegisterTable.allCases {
            let sorted = points.enumerated().filter { $0.element.table == table }
                .sorted { $0.element.address < $1.element.address }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.element.address <= a.element.lastAddress {
                errors.append(
                    ConfigError(
                        file: source.path, line: line("address", b.offset),
                        key: "[[point]] \"\(b.element.name)\" key 'address'",
                        message:
                            "overlaps point \"\(a.element.name)\" (\(table.displayName) \(a.element.address)…\(a.element.lastAddress))"
                    ))
            }
        }
        return errors
    }
}
