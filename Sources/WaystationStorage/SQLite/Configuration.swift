/// How a connection is set up when it opens.
public struct Configuration: Sendable {
    public enum JournalMode: Sendable {
        /// Whatever the file has (a new file: SQLite's rollback journal).
        case `default`
        /// Write-ahead log: readers never block the writer; a crash never tears a transaction.
        case wal
    }

    public var journalMode = JournalMode.default
    /// `PRAGMA foreign_keys` (on by default, as it always was: the schema's REFERENCES hold).
    public var foreignKeysEnabled = true
    /// The name of the serial queue the connection is used on.
    public var label = "waystation.db"
    private var preparations: [@Sendable (Database) throws -> Void] = []

    public init() {}

    /// Runs `body` on every new connection, before the journal mode is set (pragmas go here).
    public mutating func prepareDatabase(_ body: @escaping @Sendable (Database) throws -> Void) {
        preparations.append(body)
    }

    /// Applies the configuration to a new connection and checks the file is a database (a file that
    /// is not fails here with `SQLITE_NOTADB`, a damaged schema with `SQLITE_CORRUPT`).
    func setUp(_ db: Database) throws {
        try db.execute(sql: foreignKeysEnabled ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF")
        for prepare in preparations { try prepare(db) }
        if journalMode == .wal {
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw DatabaseError(
                    resultCode: .SQLITE_ERROR, message: "could not switch to WAL (journal mode: \(mode ?? "none"))",
                    sql: "PRAGMA journal_mode = WAL")
            }
        }
        _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
    }
}
