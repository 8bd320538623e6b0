internal import CSQLite

/// An SQLite result code, primary (`SQLITE_FULL`) or extended (`SQLITE_IOERR_WRITE`: the primary code
/// in the low byte). Connections run with extended result codes on.
public struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary code (`SQLITE_IOERR_WRITE` → `SQLITE_IOERR`).
    public var primaryResultCode: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

    public static let SQLITE_OK = ResultCode(rawValue: 0)
    public static let SQLITE_ERROR = ResultCode(rawValue: 1)
    public static let SQLITE_INTERNAL = ResultCode(rawValue: 2)
    public static let SQLITE_PERM = ResultCode(rawValue: 3)
    public static let SQLITE_ABORT = ResultCode(rawValue: 4)
    public static let SQLITE_BUSY = ResultCode(rawValue: 5)
    public static let SQLITE_LOCKED = ResultCode(rawValue: 6)
    public static let SQLITE_NOMEM = ResultCode(rawValue: 7)
    public static let SQLITE_READONLY = ResultCode(rawValue: 8)
    public static let SQLITE_INTERRUPT = ResultCode(rawValue: 9)
    public static let SQLITE_IOERR = ResultCode(rawValue: 10)
    public static let SQLITE_CORRUPT = ResultCode(rawValue: 11)
    public static let SQLITE_NOTFOUND = ResultCode(rawValue: 12)
    public static let SQLITE_FULL = ResultCode(rawValue: 13)
    public static let SQLITE_CANTOPEN = ResultCode(rawValue: 14)
    public static let SQLITE_PROTOCOL = ResultCode(rawValue: 15)
    public static let SQLITE_EMPTY = ResultCode(rawValue: 16)
    public static let SQLITE_SCHEMA = ResultCode(rawValue: 17)
    public static let SQLITE_TOOBIG = ResultCode(rawValue: 18)
    public static let SQLITE_CONSTRAINT = ResultCode(rawValue: 19)
    public static let SQLITE_MISMATCH = ResultCode(rawValue: 20)
    public static let SQLITE_MISUSE = ResultCode(rawValue: 21)
    public static let SQLITE_NOLFS = ResultCode(rawValue: 22)
    public static let SQLITE_AUTH = ResultCode(rawValue: 23)
    public static let SQLITE_FORMAT = ResultCode(rawValue: 24)
    public static let SQLITE_RANGE = ResultCode(rawValue: 25)
    public static let SQLITE_NOTADB = ResultCode(rawValue: 26)
    public static let SQLITE_NOTICE = ResultCode(rawValue: 27)
    public static let SQLITE_WARNING = ResultCode(rawValue: 28)
    public static let SQLITE_ROW = ResultCode(rawValue: 100)
    public static let SQLITE_DONE = ResultCode(rawValue: 101)

    private static let names = [
        "SQLITE_OK", "SQLITE_ERROR", "SQLITE_INTERNAL", "SQLITE_PERM", "SQLITE_ABORT", "SQLITE_BUSY",
        "SQLITE_LOCKED", "SQLITE_NOMEM", "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR", "SQLITE_CORRUPT",
        "SQLITE_NOTFOUND", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_EMPTY", "SQLITE_SCHEMA",
        "SQLITE_TOOBIG", "SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_MISUSE", "SQLITE_NOLFS", "SQLITE_AUTH",
        "SQLITE_FORMAT", "SQLITE_RANGE", "SQLITE_NOTADB", "SQLITE_NOTICE", "SQLITE_WARNING",
    ]

    /// `SQLITE_IOERR (10)`, or `SQLITE_IOERR (extended 778)` for an extended code.
    public var description: String {
        let primary = Int(primaryResultCode.rawValue)
        let name =
            primary < Self.names.count
            ? Self.names[primary] : primary == 100 ? "SQLITE_ROW" : primary == 101 ? "SQLITE_DONE" : "SQLITE_\(primary)"
        return rawValue == Int32(primary) ? "\(name) (\(rawValue))" : "\(name) (extended \(rawValue))"
    }
}

/// A failed SQLite call, or data read from the file that is not what the code expects: the result
/// code, SQLite's message and the SQL it was running.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    /// The code as SQLite returned it (extended when there is one).
    public let extendedResultCode: ResultCode
    /// SQLite's message (`sqlite3_errmsg`), or ours for errors found in Swift.
    public let message: String?
    /// The statement that failed, if any.
    public let sql: String?

    /// The primary result code, the one to test against (`.SQLITE_FULL`, `.SQLITE_CORRUPT`, …).
    public var resultCode: ResultCode { extendedResultCode.primaryResultCode }

    public init(resultCode: ResultCode = .SQLITE_ERROR, message: String? = nil, sql: String? = nil) {
        self.extendedResultCode = resultCode
        self.message = message
        self.sql = sql
    }

    /// The error of the last failed call on a connection (message read at once, before another call).
    init(code: Int32, connection: OpaquePointer?, sql: String?) {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        self.init(
            resultCode: ResultCode(rawValue: code),
            message: message ?? sqlite3_errstr(code).map { String(cString: $0) }, sql: sql)
    }

    /// `SQLITE_FULL (13): database or disk is full — while executing `INSERT …``.
    public var description: String {
        var text = "SQLite error \(extendedResultCode)"
        if let message { text += ": \(message)" }
        if let sql { text += " — while executing `\(sql)`" }
        return text
    }
}
