internal import CSQLite

/// One SQLite connection, over the C API of the system libsqlite3.
///
/// Not thread-safe and not `Sendable`: a `DatabaseQueue` owns it and uses it on its serial queue
/// only; the closures of `read` and `write` receive it. Every failed call throws a `DatabaseError`.
/// Statements are prepared, stepped, reset and finalized here; single statements are kept in a
/// small cache (finalized when it overflows, and before the connection closes).
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var closed = false
    private var cache: [String: Statement] = [:]
    /// Cached SQL, least recently used first.
    private var recency: [String] = []
    static let cacheLimit = 24

    /// Opens (creating if needed) the file, with extended result codes on, then applies the
    /// configuration (pragmas, journal mode) and checks the file is a database.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        var connection: OpaquePointer?
        let code = sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil)
        guard code == SQLITE_OK, let connection else {
            let error = DatabaseError(code: code, connection: connection, sql: nil)
            sqlite3_close(connection)
            throw DatabaseError(
                resultCode: error.extendedResultCode, message: "cannot open \(path): \(error.message ?? "")")
        }
        handle = connection
        self.path = path
        sqlite3_extended_result_codes(connection, 1)
        do {
            try configuration.setUp(self)
        } catch {
            try? close()
            throw error
        }
    }

    deinit { try? close() }

    // MARK: Running SQL

    /// Runs one or more `;`-separated statements, discarding any rows. Positional arguments are
    /// used by the statements in order.
    public func execute(sql: String, arguments: StatementArguments = []) throws {
        var next = 0
        try withStatements(sql) { statement in
            try statement.bind(arguments, next: &next)
            while try statement.step() {}
        }
        guard next == arguments.values.count else {
            throw DatabaseError(
                resultCode: .SQLITE_RANGE,
                message: "\(arguments.values.count) arguments for \(next) parameters", sql: sql)
        }
    }

    /// Runs one statement and hands each row to `body` (the statement positioned on it) until
    /// `body` returns false or the rows end.
    func forEachRow(sql: String, arguments: StatementArguments, _ body: (Statement) throws -> Bool) throws {
        var used = false
        var next = 0
        try withStatements(sql) { statement in
            guard !used else {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "a query must be one statement", sql: sql)
            }
            used = true
            try statement.bind(arguments, next: &next)
            while try statement.step(), try body(statement) {}
        }
        guard used else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "no statement", sql: sql) }
        guard next == arguments.values.count else {
            throw DatabaseError(
                resultCode: .SQLITE_RANGE, message: "\(arguments.values.count) arguments for \(next) parameters",
                sql: sql)
        }
    }

    /// Prepares each statement of `sql` in turn (or takes it from the cache), runs `body` on it, and
    /// resets it; a statement leaves the cache while in use, so nesting cannot share one.
    private func withStatements(_ sql: String, _ body: (Statement) throws -> Void) throws {
        guard !closed else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed", sql: sql)
        }
        if let cached = cache.removeValue(forKey: sql) {
            defer { checkIn(cached, sql) }
            return try body(cached)
        }
        try sql.withCString { start in
            let end = start + sql.utf8.count
            var cursor = start
            while cursor < end {
                var raw: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let code = sqlite3_prepare_v2(handle, cursor, Int32(end - cursor), &raw, &tail)
                guard code == SQLITE_OK else {
                    throw DatabaseError(code: code, connection: handle, sql: String(cString: cursor))
                }
                guard let raw else { break }  // only whitespace or comments were left
                let statement = Statement(handle: raw, connection: handle)
                let single = cursor == start && Self.onlyWhitespace(tail, end)
                cursor = tail ?? end
                defer { single ? checkIn(statement, sql) : statement.reset() }
                try body(statement)
            }
        }
    }

    private static func onlyWhitespace(_ from: UnsafePointer<CChar>?, _ end: UnsafePointer<CChar>) -> Bool {
        guard var p = from else { return true }
        while p < end {
            if !(p.pointee == 32 || (p.pointee >= 9 && p.pointee <= 13) || p.pointee == 59) { return false }
            p += 1
        }
        return true
    }

    /// Resets a statement and caches it, least recently used ones finalized beyond the limit.
    private func checkIn(_ statement: Statement, _ sql: String) {
        statement.reset()
        recency.removeAll { $0 == sql }
        guard !closed else { return }
        cache[sql] = statement
        recency.append(sql)
        while recency.count > Self.cacheLimit { cache.removeValue(forKey: recency.removeFirst()) }
    }

    /// Finalizes every cached statement.
    public func clearStatementCache() {
        cache.removeAll()
        recency.removeAll()
    }

    // MARK: State

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changesCount: Int { Int(sqlite3_changes64(handle)) }

    /// Rows changed since the connection opened.
    public var totalChangesCount: Int { Int(sqlite3_total_changes64(handle)) }

    /// The rowid of the last successful INSERT.
    public var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Whether a transaction is open.
    public var isInsideTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Prepared statements not yet finalized, the cached ones included (a debugging aid: tests
    /// check nothing else stays alive).
    public var liveStatementCount: Int {
        var count = 0
        var statement = sqlite3_next_stmt(handle, nil)
        while let s = statement {
            count += 1
            statement = sqlite3_next_stmt(handle, s)
        }
        return count
    }

    /// Statements the cache holds.
    public var cachedStatementCount: Int { cache.count }

    // MARK: Transactions

    public enum TransactionKind: String, Sendable {
        case deferred = "DEFERRED", immediate = "IMMEDIATE", exclusive = "EXCLUSIVE"
    }

    public enum TransactionCompletion: Sendable {
        case commit, rollback
    }

    /// Runs `body` in a transaction: committed when it returns `.commit`, rolled back when it
    /// returns `.rollback` or throws, or when the commit fails.
    public func inTransaction(
        _ kind: TransactionKind = .immediate, _ body: () throws -> TransactionCompletion
    ) throws {
        try execute(sql: "BEGIN \(kind.rawValue) TRANSACTION")
        do {
            switch try body() {
            case .commit: try execute(sql: "COMMIT TRANSACTION")
            case .rollback: rollbackIfNeeded()
            }
        } catch {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Rolls back an open transaction (SQLite may have rolled it back itself after a full disk or
    /// an I/O error); a failure here leaves the original error the one reported.
    func rollbackIfNeeded() {
        if isInsideTransaction { try? execute(sql: "ROLLBACK TRANSACTION") }
    }

    // MARK: WAL

    public enum CheckpointMode: Sendable {
        case passive, full, restart, truncate
    }

    /// Copies the WAL into the database file (`truncate` also empties the WAL).
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive) throws -> (
        walFrameCount: Int, checkpointedFrameCount: Int
    ) {
        let cMode =
            switch mode {
            case .passive: SQLITE_CHECKPOINT_PASSIVE
            case .full: SQLITE_CHECKPOINT_FULL
            case .restart: SQLITE_CHECKPOINT_RESTART
            case .truncate: SQLITE_CHECKPOINT_TRUNCATE
            }
        var log: Int32 = 0
        var done: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, nil, cMode, &log, &done)
        guard code == SQLITE_OK else {
            throw DatabaseError(code: code, connection: handle, sql: "PRAGMA wal_checkpoint(\(mode))")
        }
        return (Int(log), Int(done))
    }

    // MARK: Closing

    /// Finalizes the cached statements and closes the connection. Throws (`SQLITE_BUSY`, naming the
    /// statements) if some prepared statement was never finalized; the connection still closes
    /// once they are.
    public func close() throws {
        guard !closed else { return }
        clearStatementCache()
        closed = true
        let code = sqlite3_close(handle)
        guard code == SQLITE_OK else {
            var leaked: [String] = []
            var statement = sqlite3_next_stmt(handle, nil)
            while let s = statement {
                leaked.append(sqlite3_sql(s).map { String(cString: $0) } ?? "?")
                statement = sqlite3_next_stmt(handle, s)
            }
            sqlite3_close_v2(handle)
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: "closing \(path) with unfinalized statements", sql: leaked.joined(separator: "; "))
        }
    }
}
