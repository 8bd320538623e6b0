import WaystationCore

/// A value stored as one row of one table: it lists its columns, and gets `insert`, `update` and
/// `save` (the SQL is built from the column names, the values bound).
///
///     extension Silence: MutablePersistableRecord {
///         static let databaseTableName = "silence"
///         func databaseColumns() throws -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
///             ["id": id, "until": until, "by": by]
///         }
///     }
public protocol PersistableRecord {
    static var databaseTableName: String { get }
    /// The primary key column `update` and `save` match on (`id` unless said otherwise).
    static var databasePrimaryKey: String { get }
    /// Every stored column and its value, the primary key included.
    func databaseColumns() throws -> KeyValuePairs<String, (any DatabaseValueConvertible)?>
}

/// A record whose key is an `INTEGER PRIMARY KEY id` that SQLite assigns: `insert` sets `id`.
public protocol MutablePersistableRecord: PersistableRecord {
    var id: Int64? { get set }
}

extension PersistableRecord {
    public static var databasePrimaryKey: String { "id" }

    /// Inserts the row (a nil `id` lets SQLite assign one).
    public func insert(_ db: Database) throws {
        try performInsert(db)
    }

    fileprivate func performInsert(_ db: Database) throws {
        let (names, arguments) = try columns()
        try db.execute(
            sql:
                "INSERT INTO \(Self.quoted(Self.databaseTableName)) (\(names.map(Self.quoted).joined(separator: ", "))) "
                + "VALUES (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))",
            arguments: arguments)
    }

    /// Updates every column of the row with this primary key; throws `SQLITE_NOTFOUND` when there
    /// is no such row.
    public func update(_ db: Database) throws {
        let (names, arguments) = try columns()
        guard let key = names.firstIndex(of: Self.databasePrimaryKey) else { throw Self.noPrimaryKey() }
        let others = names.indices.filter { $0 != key }
        try db.execute(
            sql: "UPDATE \(Self.quoted(Self.databaseTableName)) SET "
                + others.map { "\(Self.quoted(names[$0])) = ?" }.joined(separator: ", ")
                + " WHERE \(Self.quoted(Self.databasePrimaryKey)) = ?",
            arguments: StatementArguments(others.map { arguments.values[$0] } + [arguments.values[key]]))
        guard db.changesCount > 0 else {
            throw DatabaseError(
                resultCode: .SQLITE_NOTFOUND,
                message: "no \(Self.databaseTableName) row with \(Self.databasePrimaryKey) = \(arguments.values[key])")
        }
    }

    /// Inserts the row, or updates the one with the same primary key (an upsert: nothing deleted).
    public func save(_ db: Database) throws {
        let (names, arguments) = try columns()
        guard names.contains(Self.databasePrimaryKey) else { throw Self.noPrimaryKey() }
        let updates = names.filter { $0 != Self.databasePrimaryKey }.map {
            "\(Self.quoted($0)) = excluded.\(Self.quoted($0))"
        }
        try db.execute(
            sql:
                "INSERT INTO \(Self.quoted(Self.databaseTableName)) (\(names.map(Self.quoted).joined(separator: ", "))) "
                + "VALUES (\(Array(repeating: "?", count: names.count).joined(separator: ", "))) "
                + "ON CONFLICT(\(Self.quoted(Self.databasePrimaryKey))) DO "
                + (updates.isEmpty ? "NOTHING" : "UPDATE SET \(updates.joined(separator: ", "))"),
            arguments: arguments)
    }

    private func columns() throws -> ([String], StatementArguments) {
        let pairs = try databaseColumns()
        return (pairs.map(\.key), StatementArguments(pairs.map(\.value)))
    }

    private static func quoted(_ name: String) -> String {
        "\"" + PlainText.replacing("\"", with: "\"\"", in: name) + "\""
    }

    private static func noPrimaryKey() -> DatabaseError {
        DatabaseError(
            resultCode: .SQLITE_MISUSE, message: "\(databaseTableName) lists no column \(databasePrimaryKey)")
    }
}

extension MutablePersistableRecord {
    /// Inserts the row and sets `id` to the rowid SQLite assigned.
    public mutating func insert(_ db: Database) throws {
        try performInsert(db)
        id = db.lastInsertedRowID
    }
}
