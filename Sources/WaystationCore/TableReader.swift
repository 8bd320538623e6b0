/// Reads one TOML table with typed getters that produce located `ConfigError`s and remembers
/// which keys were read, so that `finish()` can reject unknown keys.
///
/// Parse-time only; not shared across threads.
final class TableReader {
    let source: TOMLSource
    let table: TOMLTable
    /// The section header name (`device` for `[[device]]`), nil for the root.
    let section: String?
    /// Which `[[section]]` this is (0-based).
    let index: Int
    /// How errors name this table, e.g. `[[device]] "fridge"`.
    var label: String
    private var used: Set<String> = []
    private(set) var errors: [ConfigError] = []

    init(source: TOMLSource, table: TOMLTable, section: String?, index: Int = 0, label: String? = nil) {
        self.source = source
        self.table = table
        self.section = section
        self.index = index
        self.label = label ?? section.map { "[\($0)]" } ?? "top level"
    }

    func error(_ key: String?, _ message: String) -> ConfigError {
        let line = key.flatMap { table.lines[$0] } ?? table.line
        let where_ = key.map { "\(label) key '\($0)'" } ?? label
        return ConfigError(file: source.path, line: line, key: where_, message: message)
    }

    /// Records a problem and carries on, so one pass reports every problem in the file.
    func report(_ key: String?, _ message: String) {
        errors.append(error(key, message))
    }

    func has(_ key: String) -> Bool { table.contains(key: key) }

    private func value(_ key: String) -> TOMLValue? {
        used.insert(key)
        return table[key]
    }

    private func typeName(_ value: TOMLValue) -> String {
        switch value.type {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .table: return "a table"
        case .array: return "an array"
        case .dateTime: return "a date or time"
        }
    }

    func string(_ key: String, required: Bool = false, default def: String? = nil) -> String? {
        guard let v = value(key) else {
            if required { report(key, "missing; expected a string") }
            return def
        }
        guard let s = v.string else {
            report(key, "expected a string, got \(typeName(v))")
            return def
        }
        return s
    }

    func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil, default def: Int? = nil)
        -> Int?
    {
        guard let v = value(key) else {
            if required { report(key, "missing; expected an integer") }
            return def
        }
        guard v.type == .int, let i = v.int else {
            report(key, "expected an integer, got \(typeName(v))")
            return def
        }
        if let range, !range.contains(i) {
            report(key, "expected an integer from \(range.lowerBound) to \(range.upperBound), got \(i)")
            return def
        }
        return i
    }

    /// A finite number (`nan` and `inf` are refused: a limit that is not a number would disable the
    /// check it guards), optionally within a range.
    func double(
        _ key: String, required: Bool = false, range: ClosedRange<Double>? = nil, default def: Double? = nil
    ) -> Double? {
        guard let v = value(key) else {
            if required { report(key, "missing; expected a number") }
            return def
        }
        let number: Double
        if v.type == .double, let d = v.double {
            number = d
        } else if v.type == .int, let i = v.int {
            number = Double(i)
        } else {
            report(key, "expected a number, got \(typeName(v))")
            return def
        }
        guard number.isFinite else {
            report(key, "expected a finite number, got \(number)")
            return def
        }
        if let range, !range.contains(number) {
            report(
                key,
                "expected a number from \(ValueText.format(range.lowerBound)) to \(ValueText.format(range.upperBound)), got \(ValueText.format(number))"
            )
            return def
        }
        return number
    }

    func bool(_ key: String, default def: Bool) -> Bool {
        guard let v = value(key) else { return def }
        guard v.type == .bool, let b = v.bool else {
            report(key, "expected true or false, got \(typeName(v))")
            return def
        }
        return b
    }

    func duration(_ key: String, required: Bool = false, default def: Duration? = nil) -> Duration? {
        guard let text = string(key, required: required) else { return def }
        guard let d = DurationParser.parse(text) else {
            report(
                key,
                "expected a duration with a unit (e.g. \"500ms\", \"5s\", \"10m\", \"1h\"), at most 10 years, got \"\(text)\""
            )
            return def
        }
        return d
    }

    func oneOf(_ key: String, _ choices: [String], required: Bool = false, default def: String? = nil) -> String? {
        guard let s = string(key, required: required) else { return def }
        guard choices.contains(s) else {
            report(key, "expected one of \(choices.joined(separator: ", ")), got \"\(s)\"")
            return def
        }
        return s
    }

    func stringArray(_ key: String, default def: [String] = []) -> [String] {
        guard let v = value(key) else { return def }
        guard let array = v.array else {
            report(key, "expected an array of strings, got \(typeName(v))")
            return def
        }
        var result: [String] = []
        for element in array {
            guard let s = element.string else {
                report(key, "expected an array of strings, found \(typeName(element))")
                return def
            }
            result.append(s)
        }
        return result
    }

    func intArray(_ key: String) -> [Int] {
        guard let v = value(key) else { return [] }
        guard let array = v.array else {
            report(key, "expected an array of integers, got \(typeName(v))")
            return []
        }
        var result: [Int] = []
        for element in array {
            guard element.type == .int, let i = element.int else {
                report(key, "expected an array of integers, found \(typeName(element))")
                return []
            }
            result.append(i)
        }
        return result
    }

    /// A sub-table (e.g. inline `labels = { 0 = "off" }`).
    func subtable(_ key: String) -> TOMLTable? {
        guard let v = value(key) else { return nil }
        guard let t = v.table else {
            report(key, "expected a table, got \(typeName(v))")
            return nil
        }
        return t
    }

    /// Tables of an array of tables (`[[device]]`), or a type error.
    func tables(_ key: String) -> [TOMLTable] {
        guard let v = value(key) else { return [] }
        guard let array = v.array else {
            report(key, "expected [[\(key)]] tables, got \(typeName(v))")
            return []
        }
        var result: [TOMLTable] = []
        for element in array {
            guard let t = element.table else {
                report(key, "expected [[\(key)]] tables, found \(typeName(element))")
                return []
            }
            result.append(t)
        }
        return result
    }

    /// Rejects keys that were never read: a typo must not be silently ignored.
    func finish(allowing extra: Set<String> = []) -> [ConfigError] {
        for key in table.keys.sorted() where !used.contains(key) && !extra.contains(key) {
            let known = used.union(extra).sorted().joined(separator: ", ")
            report(key, "unknown key; known keys here: \(known)")
        }
        return errors
    }
}
