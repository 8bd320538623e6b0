import Dispatch

/// The one connection and the serial dispatch queue it is used on.
///
/// Every access runs on that queue, one at a time, in the order asked — never on Swift's shared
/// cooperative pool: SQLite blocks (disk I/O, fsync, the busy timeout), and a blocked pool thread
/// stalls every task of the process (the pollers first). The async entry points hop to the queue
/// and back through a continuation; the synchronous ones block their caller (tests and tools).
///
/// - `read`: a read-only transaction (`PRAGMA query_only`), a consistent snapshot.
/// - `write`: `BEGIN IMMEDIATE` … `COMMIT`, rolled back when the closure throws or the commit fails.
/// - `writeWithoutTransaction`: no transaction (pragmas, checkpoints, transactions of one's own).
///
/// A task cancelled before its turn gets `CancellationError` and its closure does not run. A
/// closure that leaves a transaction open has it rolled back, and gets an error.
public final class DatabaseQueue: @unchecked Sendable {
    // @unchecked: `db` is only touched on `queue` (and by init and deinit, which own it alone).
    private let queue: DispatchQueue
    private let db: Database
    private let onQueue = DispatchSpecificKey<Bool>()
    public let path: String

    /// Opens the database (see `Database.init`).
    public init(path: String, configuration: Configuration = Configuration()) throws {
        self.path = path
        queue = DispatchQueue(label: configuration.label)
        queue.setSpecific(key: onQueue, value: true)
        db = try Database(path: path, configuration: configuration)
    }

    // MARK: Synchronous

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try sync { try Self.reading($0, body) }
    }

    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try sync { try Self.writing($0, body) }
    }

    public func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try sync { try Self.unwrapped($0, body) }
    }

    /// Blocks until the queue ran `work`. From the queue itself (a closure calling back in), it
    /// throws instead of deadlocking.
    private func sync<T>(_ work: (Database) throws -> T) throws -> T {
        guard DispatchQueue.getSpecific(key: onQueue) != true else {
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE, message: "database accessed again from inside one of its own closures")
        }
        return try queue.sync { try work(db) }
    }

    // MARK: Asynchronous

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await run { try Self.reading($0, body) }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await run { try Self.writing($0, body) }
    }

    public func writeWithoutTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        try await run { try Self.unwrapped($0, body) }
    }

    /// Enqueues `work` on the queue; the caller's task waits without holding a thread.
    private func run<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try work(db) })
            }
        }
    }

    // MARK: What runs on the queue

    private static func reading<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA query_only = 1")
        defer { try? db.execute(sql: "PRAGMA query_only = 0") }
        var result: T?
        try db.inTransaction(.deferred) {
            result = try body(db)
            return .commit
        }
        return try produced(result)
    }

    private static func writing<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        var result: T?
        try db.inTransaction(.immediate) {
            result = try body(db)
            return .commit
        }
        return try produced(result)
    }

    private static func unwrapped<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        let result = try body(db)
        if db.isInsideTransaction {
            db.rollbackIfNeeded()
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "a transaction was left open; rolled back")
        }
        return result
    }

    private static func produced<T>(_ result: T?) throws -> T {
        guard let result else { throw DatabaseError(message: "the transaction produced no result") }
        return result
    }

    // MARK: Closing

    /// Closes the connection now (it also closes when the queue is released). Accesses after this
    /// throw `SQLITE_MISUSE`.
    public func close() throws {
        try sync { try $0.close() }
    }
}
