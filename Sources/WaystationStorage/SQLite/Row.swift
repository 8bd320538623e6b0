/// One fetched row: its column names and values, copied out of SQLite.
///
/// Typed subscripts read a column by name (case-insensitive, first match) or index. They throw a
/// `DatabaseError` (`SQLITE_MISMATCH`, naming the column and the SQL) when the column is missing,
/// NULL where a value is required, or stored as something the type cannot be read from. Ask for an
/// optional to accept NULL:
///
///     let device: String = try row["device"]
///     let value: Double? = try row["value"]
public struct Row: Sendable, Equatable, CustomStringConvertible {
    public let columnNames: [String]
    public let values: [DatabaseValue]
    /// The statement it came from (for error messages).
    public let sql: String

    public init(columnNames: [String], values: [DatabaseValue], sql: String = "") {
        self.columnNames = columnNames
        self.values = values
        self.sql = sql
    }

    public static func == (a: Row, b: Row) -> Bool { a.columnNames == b.columnNames && a.values == b.values }

    public var count: Int { values.count }

    public var description: String {
        "[" + zip(columnNames, values).map { "\($0):\($1)" }.joined(separator: " ") + "]"
    }

    /// The index of a column, exact name first, then ignoring ASCII case.
    public func index(of column: String) -> Int? {
        if let i = columnNames.firstIndex(of: column) { return i }
        let lower = column.lowercased()
        return columnNames.firstIndex { $0.lowercased() == lower }
    }

    private func stored(_ column: String) throws -> DatabaseValue {
        guard let i = index(of: column) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH,
                message: "no column \"\(column)\" in the row (columns: \(columnNames.joined(separator: ", ")))",
                sql: sql)
        }
        return values[i]
    }

    private func stored(_ index: Int) throws -> DatabaseValue {
        guard values.indices.contains(index) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH, message: "no column \(index) in a row of \(values.count)", sql: sql)
        }
        return values[index]
    }

    private func convert<T: DatabaseValueConvertible>(_ value: DatabaseValue, _ column: String) throws -> T {
        if let converted = T.fromDatabaseValue(value) { return converted }
        throw DatabaseError(
            resultCode: .SQLITE_MISMATCH,
            message: value.isNull
                ? "column \(column) is NULL where a \(T.self) is required"
                : "column \(column) holds \(value.storageClass), which is not a \(T.self)", sql: sql)
    }

    /// The column's value; throws when missing, NULL, or not convertible.
    public subscript<T: DatabaseValueConvertible>(_ column: String) -> T {
        get throws { try convert(try stored(column), column) }
    }

    /// The column's value, nil when NULL; throws when missing or not convertible.
    public subscript<T: DatabaseValueConvertible>(_ column: String) -> T? {
        get throws {
            let value = try stored(column)
            return value.isNull ? nil : try convert(value, column) as T
        }
    }

    /// The value at a column index; throws when out of range, NULL, or not convertible.
    public subscript<T: DatabaseValueConvertible>(_ index: Int) -> T {
        get throws { try convert(try stored(index), "\(index)") }
    }

    /// The value at a column index, nil when NULL.
    public subscript<T: DatabaseValueConvertible>(_ index: Int) -> T? {
        get throws {
            let value = try stored(index)
            return value.isNull ? nil : try convert(value, "\(index)") as T
        }
    }
}

/// A type made from a fetched row.
public protocol FetchableRecord {
    init(row: Row) throws
}

extension Row: FetchableRecord {
    public init(row: Row) { self = row }
}

extension FetchableRecord {
    /// Every row of the query, made into records.
    public static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [Self] {
        var result: [Self] = []
        try db.forEachRow(sql: sql, arguments: arguments) { statement in
            result.append(try Self(row: try statement.row()))
            return true
        }
        return result
    }

    /// The first row of the query, or nil when there is none.
    public static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> Self? {
        var result: Self?
        try db.forEachRow(sql: sql, arguments: arguments) { statement in
            result = try Self(row: try statement.row())
            return false
        }
        return result
    }
}

extension DatabaseValueConvertible {
    /// The first column of every row; throws on a NULL or a value that does not convert.
    public static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [Self] {
        var result: [Self] = []
        try db.forEachRow(sql: sql, arguments: arguments) { statement in
            result.append(try converted(try firstValue(statement), statement))
            return true
        }
        return result
    }

    /// The first column of the first row: nil when there is no row or it is NULL; throws on a value
    /// that does not convert.
    public static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> Self? {
        var result: Self?
        try db.forEachRow(sql: sql, arguments: arguments) { statement in
            let value = try firstValue(statement)
            if !value.isNull { result = try converted(value, statement) }
            return false
        }
        return result
    }

    private static func firstValue(_ statement: Statement) throws -> DatabaseValue {
        guard !statement.columnNames.isEmpty else {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH, message: "the query returns no column", sql: statement.sql)
        }
        return try statement.value(at: 0)
    }

    private static func converted(_ value: DatabaseValue, _ statement: Statement) throws -> Self {
        if let converted = fromDatabaseValue(value) { return converted }
        throw DatabaseError(
            resultCode: .SQLITE_MISMATCH,
            message: value.isNull
                ? "a NULL where a \(Self.self) is required"
                : "a \(value.storageClass) where a \(Self.self) is required",
            sql: statement.sql)
    }
}
