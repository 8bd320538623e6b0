/// The values bound to a statement's parameters: positional (`?`, in order) from an array literal,
/// or named (`:name`, `@name`, `$name`) from a dictionary literal. A `nil` binds NULL.
///
///     try db.execute(sql: "UPDATE outbox SET delivered = ? WHERE id = ?", arguments: [now, id])
///     try db.execute(sql: "DELETE FROM visit WHERE id = :id", arguments: ["id": id])
public struct StatementArguments: Sendable, Equatable, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public var values: [DatabaseValue]
    public var namedValues: [String: DatabaseValue]

    public init(
        _ values: [(any DatabaseValueConvertible)?] = [], named: [String: (any DatabaseValueConvertible)?] = [:]
    ) {
        self.values = values.map { $0?.databaseValue ?? .null }
        self.namedValues = named.mapValues { $0?.databaseValue ?? .null }
    }

    public init(arrayLiteral elements: (any DatabaseValueConvertible)?...) {
        self.init(elements)
    }

    public init(dictionaryLiteral elements: (String, (any DatabaseValueConvertible)?)...) {
        self.init(named: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public var isEmpty: Bool { values.isEmpty && namedValues.isEmpty }
}
