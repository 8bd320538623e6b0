internal import CSQLite

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One prepared statement of one connection. Finalized when released (or, if the connection caches
/// it, when the cache lets it go); used only where its `Database` is used.
final class Statement {
    let handle: OpaquePointer
    /// This statement's own SQL (one statement of a longer script).
    let sql: String
    private let connection: OpaquePointer
    /// The result columns' names.
    private(set) lazy var columnNames: [String] = (0..<sqlite3_column_count(handle)).map {
        sqlite3_column_name(handle, $0).map { String(cString: $0) } ?? ""
    }

    init(handle: OpaquePointer, connection: OpaquePointer) {
        self.handle = handle
        self.connection = connection
        self.sql = sqlite3_sql(handle).map { String(cString: $0) } ?? ""
    }

    deinit { sqlite3_finalize(handle) }

    var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    private func failure(_ code: Int32) -> DatabaseError {
        DatabaseError(code: code, connection: connection, sql: sql)
    }

    /// Binds every parameter: positional ones from `arguments.values` starting at `next` (advanced
    /// past the ones used), named ones from `arguments.namedValues`.
    func bind(_ arguments: StatementArguments, next: inout Int) throws {
        guard parameterCount > 0 else { return }
        for index in 1...Int32(parameterCount) {
            let value: DatabaseValue
            let cName = sqlite3_bind_parameter_name(handle, index).map { String(cString: $0) }
            if let cName, !cName.hasPrefix("?") {
                let name = String(cName.dropFirst())
                guard let named = arguments.namedValues[name] else {
                    throw DatabaseError(
                        resultCode: .SQLITE_RANGE, message: "no value for the parameter :\(name)", sql: sql)
                }
                value = named
            } else {
                guard next < arguments.values.count else {
                    throw DatabaseError(
                        resultCode: .SQLITE_RANGE,
                        message: "\(arguments.values.count) arguments for \(next + 1) or more parameters", sql: sql)
                }
                value = arguments.values[next]
                next += 1
            }
            try bind(value, at: index)
        }
    }

    private func bind(_ value: DatabaseValue, at index: Int32) throws {
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(handle, index)
        case .integer(let i): code = sqlite3_bind_int64(handle, index, i)
        case .double(let d): code = sqlite3_bind_double(handle, index, d)
        case .text(let s):
            // withCString: never a null pointer (which would bind NULL for ""), NULs inside kept.
            code = s.withCString {
                sqlite3_bind_text64(handle, index, $0, UInt64(s.utf8.count), ws_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        case .blob(let b):
            code = b.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, raw.count > 0 else {
                    return sqlite3_bind_zeroblob(handle, index, 0)  // an empty blob, not NULL
                }
                return sqlite3_bind_blob64(handle, index, base, UInt64(raw.count), ws_sqlite_transient())
            }
        }
        guard code == SQLITE_OK else { throw failure(code) }
    }

    /// Steps once: true when a row is available, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw failure(code)
        }
    }

    /// Ready for reuse: rewound, parameters cleared.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The current row's value in column `index`.
    func value(at index: Int32) throws -> DatabaseValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            let text = sqlite3_column_text(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let text else { return try emptyUnlessOutOfMemory(.text("")) }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        default:
            let blob = sqlite3_column_blob(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let blob, count > 0 else { return try emptyUnlessOutOfMemory(.blob(Data())) }
            return .blob(Data(bytes: blob, count: count))
        }
    }

    /// A null pointer for a column means an empty value, or that SQLite ran out of memory.
    private func emptyUnlessOutOfMemory(_ empty: DatabaseValue) throws -> DatabaseValue {
        let code = sqlite3_errcode(connection)
        if code == SQLITE_NOMEM { throw failure(code) }
        return empty
    }

    /// The current row, all columns.
    func row() throws -> Row {
        let count = Int32(columnNames.count)
        var values: [DatabaseValue] = []
        values.reserveCapacity(Int(count))
        for i in 0..<count { values.append(try value(at: i)) }
        return Row(columnNames: columnNames, values: values, sql: sql)
    }
}
