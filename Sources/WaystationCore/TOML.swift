/// A TOML value, as the config and profile loaders read it.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    public enum Kind: Sendable { case string, int, double, bool, table, array }

    public var type: Kind {
        switch self {
        case .string: .string
        case .integer: .int
        case .float: .double
        case .bool: .bool
        case .array: .array
        case .table: .table
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

/// A TOML table: its keys in the order written, and the line each key was set on.
public struct TOMLTable: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    /// 1-based line of each key (or of the header that created a sub-table).
    public private(set) var lines: [String: Int] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? { values[key] }

    public func contains(key: String) -> Bool { values[key] != nil }

    /// Sets a key; false when it was already set (TOML forbids redefining a key).
    mutating func define(_ key: String, _ value: TOMLValue, line: Int) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        lines[key] = line
        return true
    }

    /// Replaces an existing key's value (used while building nested tables).
    mutating func replace(_ key: String, _ value: TOMLValue) {
        values[key] = value
    }
}

/// A TOML syntax error with the line it was found on.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}
