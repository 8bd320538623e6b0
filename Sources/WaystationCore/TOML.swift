/// A TOML value, as the config and profile loaders read it.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)
    /// A date, time or date-time, in RFC 3339 form (only when the parse allows them; no config key
    /// takes one).
    case dateTime(TOMLDateTime)

    public enum Kind: Sendable { case string, int, double, bool, table, array, dateTime }

    public var type: Kind {
        switch self {
        case .string: .string
        case .integer: .int
        case .float: .double
        case .bool: .bool
        case .array: .array
        case .table: .table
        case .dateTime: .dateTime
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var int: Int? { if case .integer(let i) = self { i } else { nil } }
    public var double: Double? {
        switch self {
        case .float(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    public var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
}

/// A TOML date and/or time, as written (normalised to RFC 3339: `T` between date and time, `Z` for a
/// zero offset).
public struct TOMLDateTime: Sendable, Equatable {
    public enum Kind: Sendable { case offsetDateTime, localDateTime, localDate, localTime }
    public var kind: Kind
    public var text: String

    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }
}

/// A TOML table: its keys in the order written, and the line each key was set on.
public struct TOMLTable: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    /// 1-based line of each key (or of the header that created a sub-table).
    public private(set) var lines: [String: Int] = [:]
    /// 1-based line the table starts on: its `[header]`, `[[header]]` or inline `{`; nil for the root.
    public internal(set) var line: Int?

    public init() {}

    public subscript(key: String) -> TOMLValue? { values[key] }

    public func contains(key: String) -> Bool { values[key] != nil }

    /// Sets a key; false when it was already set (TOML forbids redefining a key).
    mutating func define(_ key: String, _ value: TOMLValue, line: Int?) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        if let line { lines[key] = line }
        return true
    }
}

/// A TOML document refused, with the line (when known) and the key (for a value no loader takes).
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var key: String?
    public var message: String
    public var description: String {
        (line.map { "line \($0): " } ?? "") + (key.map { "key '\($0)': " } ?? "") + message
    }
}
