/// Schema migrations, applied in the order registered, each once, each in its own transaction.
///
/// Applied ones are recorded by identifier in `grdb_migrations` — the table (and layout) of the
/// library the daemon used before this layer, kept so that databases it wrote open as migrated. A database that records an
/// identifier this build does not know was written by a newer version (`hasBeenSuperseded`).
///
/// Foreign keys are switched off while a migration runs (so it may rebuild a table) and checked
/// (`PRAGMA foreign_key_check`) before it commits.
public struct DatabaseMigrator: Sendable {
    private struct Migration: Sendable {
        let identifier: String
        let migrate: @Sendable (Database) throws -> Void
    }

    static let table = "grdb_migrations"
    private var registered: [Migration] = []
    private var duplicates: [String] = []

    public init() {}

    /// Registers a migration after those registered before it. Identifiers never change once
    /// shipped; registering one twice makes `migrate` throw.
    public mutating func registerMigration(
        _ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void
    ) {
        if registered.contains(where: { $0.identifier == identifier }) { duplicates.append(identifier) }
        registered.append(Migration(identifier: identifier, migrate: migrate))
    }

    /// The registered identifiers, in order.
    public var migrations: [String] { registered.map(\.identifier) }

    /// Every identifier recorded in the database, registered or not (none when it has no table yet).
    public func appliedIdentifiers(_ db: Database) throws -> Set<String> {
        let exists = try Int.fetchOne(
            db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [Self.table])
        guard exists == 1 else { return [] }
        return Set(try String.fetchAll(db, sql: "SELECT identifier FROM \(Self.table)"))
    }

    /// Whether the database records migrations this migrator does not know (a newer version's).
    public func hasBeenSuperseded(_ db: Database) throws -> Bool {
        !(try appliedIdentifiers(db).subtracting(migrations).isEmpty)
    }

    /// Applies the migrations not yet applied, in order.
    public func migrate(_ queue: DatabaseQueue) throws {
        try queue.writeWithoutTransaction { db in try migrate(db) }
    }

    /// Applies the migrations not yet applied, in order, on a connection outside any transaction.
    public func migrate(_ db: Database) throws {
        guard duplicates.isEmpty else {
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE, message: "migration registered twice: \(duplicates.joined(separator: ", "))"
            )
        }
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(Self.table) (identifier TEXT NOT NULL PRIMARY KEY)")
        let applied = try appliedIdentifiers(db)
        for migration in registered where !applied.contains(migration.identifier) {
            try run(migration, db)
        }
    }

    private func run(_ migration: Migration, _ db: Database) throws {
        let foreignKeys = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
        if foreignKeys { try db.execute(sql: "PRAGMA foreign_keys = OFF") }
        do {
            try db.inTransaction(.immediate) {
                try migration.migrate(db)
                try db.execute(
                    sql: "INSERT INTO \(Self.table) (identifier) VALUES (?)", arguments: [migration.identifier])
                if foreignKeys, let violation = try Row.fetchOne(db, sql: "PRAGMA foreign_key_check") {
                    throw DatabaseError(
                        resultCode: .SQLITE_CONSTRAINT,
                        message: "migration \(migration.identifier) breaks a foreign key: \(violation)")
                }
                return .commit
            }
        } catch {
            if foreignKeys { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            throw error
        }
        if foreignKeys { try db.execute(sql: "PRAGMA foreign_keys = ON") }
    }
}
