import Dispatch
import Foundation
import Synchronization
import Testing
import WaystationPolling
import WaystationStorage

/// A value shared by tasks and threads (a `Mutex` itself cannot be captured by escaping closures).
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    @discardableResult
    func with<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { with { $0 } }
}

/// The thin SQLite layer on its own, against real SQLite files: values in and out, errors, rollback,
/// serialized writes, progress without Swift's pool, and statements that never outlive their use.
@Suite("SQLite layer")
struct SQLiteLayerTests {
    /// A fresh database in a temp directory, configured as the station's (WAL, foreign keys).
    final class Scratch: Sendable {
        let dir: String
        let queue: DatabaseQueue

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-sqlite-\(UUID())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var config = Configuration()
            config.journalMode = .wal
            queue = try DatabaseQueue(path: dir + "/t.db", configuration: config)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    @Test("every type round-trips, NULL stays NULL: Int64 extremes, empty and NUL-bearing text, empty blobs")
    func roundTrip() throws {
        let s = try Scratch()
        let texts = ["", "a", "ünï €😀", "nul\0inside", String(repeating: "x", count: 100_000)]
        let blobs = [Data(), Data([0]), Data([0, 1, 2, 0, 255]), Data(repeating: 7, count: 70_000)]
        let integers: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]
        let doubles = [0.0, -0.0, 1.5, -273.15, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity]
        try s.queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, d REAL, s TEXT, b BLOB, f INTEGER)")
            for v in integers { try db.execute(sql: "INSERT INTO t (i) VALUES (?)", arguments: [v]) }
            for v in doubles { try db.execute(sql: "INSERT INTO t (d) VALUES (?)", arguments: [v]) }
            for v in texts { try db.execute(sql: "INSERT INTO t (s) VALUES (?)", arguments: [v]) }
            for v in blobs { try db.execute(sql: "INSERT INTO t (b) VALUES (?)", arguments: [v]) }
            try db.execute(sql: "INSERT INTO t (f) VALUES (?), (?)", arguments: [true, false])
            try db.execute(
                sql: "INSERT INTO t (i, d, s, b, f) VALUES (?, ?, ?, ?, ?)", arguments: [nil, nil, nil, nil, nil])
        }
        try s.queue.read { db in
            #expect(try Int64.fetchAll(db, sql: "SELECT i FROM t WHERE i IS NOT NULL ORDER BY id") == integers)
            #expect(try Double.fetchAll(db, sql: "SELECT d FROM t WHERE d IS NOT NULL ORDER BY id") == doubles)
            #expect(try String.fetchAll(db, sql: "SELECT s FROM t WHERE s IS NOT NULL ORDER BY id") == texts)
            #expect(try Data.fetchAll(db, sql: "SELECT b FROM t WHERE b IS NOT NULL ORDER BY id") == blobs)
            #expect(try Bool.fetchAll(db, sql: "SELECT f FROM t WHERE f IS NOT NULL ORDER BY id") == [true, false])
            // Empty text and empty blobs are values, not NULL.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE s = ''") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE typeof(b) = 'blob' AND length(b) = 0") == 1)
            // The all-NULL row: nil through optionals, an error (naming column and SQL) where required.
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM t ORDER BY id DESC LIMIT 1"))
            #expect(try (row["i"] as Int64?) == nil && (row["d"] as Double?) == nil)
            #expect(try (row["s"] as String?) == nil && (row["b"] as Data?) == nil && (row["f"] as Bool?) == nil)
            let error = #expect(throws: DatabaseError.self) { _ = try row["s"] as String }
            #expect(error?.resultCode == .SQLITE_MISMATCH)
            #expect(error?.description.contains("SELECT * FROM t ORDER BY id DESC LIMIT 1") == true)
            #expect(error?.description.contains("column s is NULL") == true)
            #expect(try Int64.fetchOne(db, sql: "SELECT NULL") == nil)
            #expect(try Int64.fetchOne(db, sql: "SELECT 1 WHERE 0") == nil)
            #expect(throws: DatabaseError.self) { try Int64.fetchAll(db, sql: "SELECT i FROM t ORDER BY id") }
            // A value of the wrong class is an error, never a guess.
            #expect(throws: DatabaseError.self) { try Int.fetchOne(db, sql: "SELECT 'twelve'") }
            #expect(throws: DatabaseError.self) { try String.fetchOne(db, sql: "SELECT 12") }
            #expect(throws: DatabaseError.self) { try Int8.fetchOne(db, sql: "SELECT 300") }
            #expect(throws: DatabaseError.self) { _ = try row["nosuch"] as Int? }
            #expect(try Double.fetchOne(db, sql: "SELECT 3") == 3)
        }
    }

    @Test("named, numbered and positional arguments; a script's statements share positional ones")
    func arguments() throws {
        let s = try Scratch()
        let (named, numbered, script) = try s.queue.write { db in
            try db.execute(
                sql: "CREATE TABLE k (a INTEGER, b TEXT); INSERT INTO k VALUES (?, ?); INSERT INTO k VALUES (?, 'x')",
                arguments: [1, "one", 2])
            let named = try String.fetchOne(db, sql: "SELECT b FROM k WHERE a = :a", arguments: ["a": 1])
            let numbered = try Int.fetchOne(db, sql: "SELECT ?1 + ?1 + ?2", arguments: [20, 2])
            return (named, numbered, try Int.fetchOne(db, sql: "SELECT count(*) FROM k"))
        }
        #expect(named == "one" && numbered == 42 && script == 2)
        try s.queue.write { db in
            #expect(throws: DatabaseError.self) { try db.execute(sql: "SELECT ?, ?", arguments: [1]) }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "SELECT ?", arguments: [1, 2]) }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "SELECT :a", arguments: ["b": 1]) }
        }
    }

    @Test("a failing statement throws a DatabaseError naming the result code, SQLite's message and the SQL")
    func errorsNameTheSQL() throws {
        let s = try Scratch()
        try s.queue.write { db in try db.execute(sql: "CREATE TABLE u (k TEXT PRIMARY KEY, n INTEGER NOT NULL)") }
        let syntax = #expect(throws: DatabaseError.self) {
            try s.queue.write { db in try db.execute(sql: "INSERT INTO nosuch VALUES (1)") }
        }
        #expect(syntax?.resultCode == .SQLITE_ERROR)
        #expect(syntax?.message?.contains("no such table: nosuch") == true)
        #expect(syntax?.sql == "INSERT INTO nosuch VALUES (1)")
        #expect(syntax?.description.contains("SQLITE_ERROR") == true)
        #expect(syntax?.description.contains("INSERT INTO nosuch VALUES (1)") == true)
        let unique = #expect(throws: DatabaseError.self) {
            try s.queue.write { db in
                try db.execute(sql: "INSERT INTO u VALUES ('a', 1)")
                try db.execute(sql: "INSERT INTO u VALUES ('a', 2)")
            }
        }
        // Extended codes are on; the primary code is what call sites test.
        #expect(unique?.resultCode == .SQLITE_CONSTRAINT)
        #expect(unique?.extendedResultCode == ResultCode(rawValue: 1555))  // SQLITE_CONSTRAINT_PRIMARYKEY
        #expect(unique?.description.contains("UNIQUE constraint failed: u.k") == true)
        #expect(unique?.description.contains("INSERT INTO u VALUES ('a', 2)") == true)
        let notNull = #expect(throws: DatabaseError.self) {
            try s.queue.write { db in try db.execute(sql: "INSERT INTO u VALUES ('b', ?)", arguments: [nil]) }
        }
        #expect(notNull?.resultCode == .SQLITE_CONSTRAINT)
        #expect(notNull?.extendedResultCode == ResultCode(rawValue: 1299))  // SQLITE_CONSTRAINT_NOTNULL
        // A read is read-only.
        let readOnly = #expect(throws: DatabaseError.self) {
            try s.queue.read { db in try db.execute(sql: "INSERT INTO u VALUES ('c', 3)") }
        }
        #expect(readOnly?.resultCode == .SQLITE_READONLY)
        // A file that is not a database.
        let garbage = s.dir + "/garbage.db"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: garbage))
        let notADatabase = #expect(throws: DatabaseError.self) {
            var config = Configuration()
            config.journalMode = .wal
            _ = try DatabaseQueue(path: garbage, configuration: config)
        }
        #expect(notADatabase?.resultCode == .SQLITE_NOTADB)
    }

    @Test("a write that throws rolls back everything it did; so does a failed statement left uncaught")
    func rollback() async throws {
        let s = try Scratch()
        struct Boom: Error {}
        try await s.queue.write { db in try db.execute(sql: "CREATE TABLE r (n INTEGER UNIQUE)") }
        await #expect(throws: Boom.self) {
            try await s.queue.write { db in
                try db.execute(sql: "INSERT INTO r VALUES (1)")
                throw Boom()
            }
        }
        await #expect(throws: DatabaseError.self) {
            try await s.queue.write { db in
                try db.execute(sql: "INSERT INTO r VALUES (2)")
                try db.execute(sql: "INSERT INTO r VALUES (2)")
            }
        }
        // A caught statement error keeps the rest of the transaction (row-level tolerance).
        try await s.queue.write { db in
            try db.execute(sql: "INSERT INTO r VALUES (3)")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "INSERT INTO r VALUES (3)") }
            try db.execute(sql: "INSERT INTO r VALUES (4)")
        }
        #expect(try await s.queue.read { db in try Int.fetchAll(db, sql: "SELECT n FROM r ORDER BY n") } == [3, 4])
        #expect(try await s.queue.read { db in db.isInsideTransaction } == true)
        #expect(try await s.queue.writeWithoutTransaction { db in db.isInsideTransaction } == false)
        // A closure that leaves a transaction open has it rolled back, and is told.
        await #expect(throws: DatabaseError.self) {
            try await s.queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN")
                try db.execute(sql: "INSERT INTO r VALUES (5)")
            }
        }
        #expect(try await s.queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM r") } == 2)
    }

    @Test("writes from many tasks at once are serialized, one at a time, and every one lands")
    func concurrentWrites() async throws {
        let s = try Scratch()
        try await s.queue.write { db in try db.execute(sql: "CREATE TABLE c (n INTEGER PRIMARY KEY, task INTEGER)") }
        let inside = Shared(0)
        let overlaps = Shared(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<200 {
                group.addTask {
                    try await s.queue.write { db in
                        if inside.with({ n in
                            defer { n += 1 }; return n
                        }) > 0 {
                            overlaps.with { $0 += 1 }
                        }
                        defer { inside.with { $0 -= 1 } }
                        // Read, then write what was read plus one: lost updates would show as duplicates.
                        let next = (try Int.fetchOne(db, sql: "SELECT max(n) FROM c") ?? 0) + 1
                        try db.execute(sql: "INSERT INTO c (n, task) VALUES (?, ?)", arguments: [next, task])
                    }
                }
            }
            try await group.waitForAll()
        }
        let (count, tasks, maxN) = try await s.queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM c"),
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT task) FROM c"),
                try Int.fetchOne(db, sql: "SELECT max(n) FROM c")
            )
        }
        #expect(count == 200 && tasks == 200 && maxN == 200)
        #expect(overlaps.value == 0)
    }

    /// Blocks the calling thread (a pool thread, on purpose) until signalled or 20 s passed.
    static func block(_ gate: DispatchSemaphore) { _ = gate.wait(timeout: .now() + 20) }

    @Test("a read completes while every thread of Swift's pool is blocked: the layer needs none of them")
    func progressWithoutThePool() async throws {
        let s = try Scratch()
        let width = ProcessInfo.processInfo.activeProcessorCount
        let bodyStarted = Shared(false)
        let blocked = Shared(0)
        let gate = DispatchSemaphore(value: 0)
        // The read's closure waits until the blockers hold every pool thread, then runs its query and
        // lets them go. Were it to need a pool thread, it would never run and they would time out.
        let reader = Task {
            try await s.queue.read { db -> (blocked: Int, answer: Int?) in
                bodyStarted.with { $0 = true }
                let deadline = ContinuousClock.now + .seconds(15)
                while blocked.value < width, ContinuousClock.now < deadline { usleep(1000) }
                let seen = blocked.value
                let answer = try Int.fetchOne(db, sql: "SELECT 42")
                for _ in 0..<(width + 2) { gate.signal() }
                return (seen, answer)
            }
        }
        while !bodyStarted.value { try await Task.sleep(for: .milliseconds(1)) }
        for _ in 0..<(width + 2) {
            Task.detached {
                blocked.with { $0 += 1 }
                Self.block(gate)
            }
        }
        let (seen, answer) = try await reader.value
        #expect(answer == 42)
        #expect(seen >= width, "only \(seen) of \(width) pool threads were blocked")
        // And the next access still works (the queue was not wedged).
        #expect(try await s.queue.read { db in try Int.fetchOne(db, sql: "SELECT 1") } == 1)
    }

    @Test("a cancelled task's access does not run; a closure calling back in throws instead of deadlocking")
    func cancellationAndReentrancy() async throws {
        let s = try Scratch()
        let ran = Shared(false)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await s.queue.write { _ in ran.with { $0 = true } }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ran.value == false)
        let error = #expect(throws: DatabaseError.self) {
            try s.queue.write { _ in try s.queue.read { _ in 1 } }
        }
        #expect(error?.resultCode == .SQLITE_MISUSE)
    }

    @Test("prepared statements are finalized: only the bounded cache holds any, and the file closes cleanly")
    func statementsFinalized() throws {
        let s = try Scratch()
        try s.queue.write { db in
            try db.execute(sql: "CREATE TABLE f (n INTEGER PRIMARY KEY, t TEXT NOT NULL)")
            for n in 0..<200 {
                // Distinct SQL each time: the cache must evict (and finalize) old ones.
                try db.execute(sql: "INSERT INTO f (n, t) VALUES (?, 'row \(n)')", arguments: [n])
            }
        }
        try s.queue.read { db in
            _ = try Row.fetchAll(db, sql: "SELECT * FROM f")
            _ = try Row.fetchOne(db, sql: "SELECT * FROM f ORDER BY n")  // stops after one row
            _ = try String.fetchOne(db, sql: "SELECT t FROM f")
            // Failures of every kind on the way: preparing, stepping, converting.
            #expect(throws: DatabaseError.self) { try db.execute(sql: "SELEC 1") }
            #expect(throws: DatabaseError.self) { try Int.fetchAll(db, sql: "SELECT t FROM f") }
            #expect(throws: DatabaseError.self) { try db.execute(sql: "SELECT 1; SELEC 2") }
        }
        let (live, cached) = try s.queue.read { db in (db.liveStatementCount, db.cachedStatementCount) }
        #expect(live == cached)
        #expect(cached <= 24)
        let afterClearing = try s.queue.writeWithoutTransaction { db in
            db.clearStatementCache()
            return db.liveStatementCount
        }
        #expect(afterClearing == 0)
        try s.queue.close()  // sqlite3_close (not _v2): it would fail if a statement were still alive
        #expect(throws: DatabaseError.self) { try s.queue.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
    }

    @Test(
        "history keeps row-level tolerance: a block the database refuses is skipped, its values counted, the rest land")
    func historyRowTolerance() async throws {
        let s = try Scratch()
        let db = try openDatabase(s.dir + "/station.db")
        // A refusal SQLite reports with an extended code (SQLITE_CONSTRAINT_TRIGGER).
        try await db.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE value_block_20786 (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
                    CREATE TRIGGER refuse BEFORE INSERT ON value_block_20786
                    WHEN NEW.id & 1048575 = (SELECT id FROM series WHERE point = 'bad')
                    BEGIN SELECT RAISE(ABORT, 'refused'); END
                    """)
        }
        let history = HistoryStore(database: db)
        var record = HistoryStore.CycleRecord()
        let now = Date(timeIntervalSince1970: 1_795_985_000)  // in day 20786 (UTC), the trigger's table
        for (i, (point, value)) in [("p", 1.0), ("bad", -1), ("p", 2), ("bad", -2)].enumerated() {
            record.values.append(
                .init(series: .init(device: "d", point: point), at: now.addingTimeInterval(Double(i)), value: value))
        }
        try await history.write(record)
        #expect(await history.skippedRows == 2)
        #expect(try history.values(device: "d", point: "bad").isEmpty)
        #expect(try history.values(device: "d", point: "p").map(\.value) == [1, 2])
    }
}
