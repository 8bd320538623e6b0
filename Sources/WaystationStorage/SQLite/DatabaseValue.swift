#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One SQLite value, in one of its five storage classes.
public enum DatabaseValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case blob(Data)

    public var isNull: Bool { self == .null }

    /// The storage class, for error messages.
    var storageClass: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .double: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let i): "\(i)"
        case .double(let d): "\(d)"
        case .text(let s): "'\(s)'"
        case .blob(let b): "<\(b.count) bytes>"
        }
    }
}

/// A Swift type stored as one SQLite value: bound as a statement argument, read from a column.
public protocol DatabaseValueConvertible {
    var databaseValue: DatabaseValue { get }
    /// The value, or nil when the stored one cannot be this type (NULL included).
    static func fromDatabaseValue(_ value: DatabaseValue) -> Self?
}

extension DatabaseValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> DatabaseValue? { value }
}

extension Int64: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self) }

    /// From an INTEGER, or from a REAL within range (truncated, as SQLite's own CAST does).
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Int64? {
        switch value {
        case .integer(let i): return i
        case .double(let d):
            guard d >= -9_223_372_036_854_775_808.0, d < 9_223_372_036_854_775_808.0 else { return nil }
            return Int64(d)
        default: return nil
        }
    }
}

/// Signed integers go through Int64; a stored value out of the type's range does not convert.
extension DatabaseValueConvertible where Self: FixedWidthInteger & SignedInteger {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Self? {
        Int64.fromDatabaseValue(value).flatMap { Self(exactly: $0) }
    }
}

extension Int: DatabaseValueConvertible {}
extension Int32: DatabaseValueConvertible {}
extension Int16: DatabaseValueConvertible {}
extension Int8: DatabaseValueConvertible {}

extension UInt32: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> UInt32? {
        Int64.fromDatabaseValue(value).flatMap { UInt32(exactly: $0) }
    }
}

extension Double: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .double(self) }

    /// From a REAL or an INTEGER.
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Double? {
        switch value {
        case .double(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
}

extension Bool: DatabaseValueConvertible {
    /// Stored as the integers 1 and 0.
    public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) }

    public static func fromDatabaseValue(_ value: DatabaseValue) -> Bool? {
        switch value {
        case .integer(let i): i != 0
        case .double(let d): d != 0
        default: nil
        }
    }
}

extension String: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(self) }

    /// From TEXT only.
    public static func fromDatabaseValue(_ value: DatabaseValue) -> String? {
        if case .text(let s) = value { return s }
        return nil
    }
}

extension Data: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .blob(self) }

    /// From a BLOB, or from TEXT (its UTF-8 bytes).
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Data? {
        switch value {
        case .blob(let b): b
        case .text(let s): Data(s.utf8)
        default: nil
        }
    }
}
