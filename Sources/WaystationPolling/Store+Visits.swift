import Foundation
import GRDB

/// Visits (check-ins). Every write that a caller acknowledges to a rider is committed with
/// `synchronous = FULL`, so it survives a crash or power cut right after.
extension Store {
    /// One stay at the station. `worker` is the pseudonym, never the rider's id.
    public struct Visit: Sendable, Equatable {
        public var id: Int64
        public var worker: String
        public var category: String
        public var source: String?
        public var checkedIn: Date
        public var checkedOut: Date?
        /// `rider` or `auto` (closed after the maximum stay).
        public var closedBy: String?

        public init(
            id: Int64, worker: String, category: String, source: String?, checkedIn: Date, checkedOut: Date?,
            closedBy: String?
        ) {
            self.id = id
            self.worker = worker
            self.category = category
            self.source = source
            self.checkedIn = checkedIn
            self.checkedOut = checkedOut
            self.closedBy = closedBy
        }
    }

    static func visit(_ row: Row) -> Visit {
        Visit(
            id: row["id"], worker: row["worker"], category: row["category"], source: row["source"],
            checkedIn: Date(timeIntervalSince1970: Double(row["checked_in"] as Int64) / 1000),
            checkedOut: (row["checked_out"] as Int64?).map { Date(timeIntervalSince1970: Double($0) / 1000) },
            closedBy: row["closed_by"])
    }

    /// Runs a write transaction with `synchronous = FULL` (durable before it returns).
    func durableWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var result: T?
            try db.inTransaction {
                result = try body(db)
                return .commit
            }
            guard let result else { throw DatabaseError(message: "transaction produced no result") }
            return result
        }
    }

    /// Opens a visit unless the rider already has one open; returns the visit and whether it is new.
    public func checkIn(worker: String, category: String, source: String?, at now: Date) async throws
        -> (visit: Visit, created: Bool, occupancy: Int)
    {
        try await durableWrite { db in
            if let open = try Row.fetchOne(
                db, sql: "SELECT * FROM visit WHERE worker = ? AND checked_out IS NULL ORDER BY id DESC LIMIT 1",
                arguments: [worker])
            {
                let occupancy = try Int.fetchOne(db, sql: "SELECT count(*) FROM visit WHERE checked_out IS NULL") ?? 0
                return (Self.visit(open), false, occupancy)
            }
            try db.execute(
                sql: "INSERT INTO visit (worker, category, source, checked_in) VALUES (?, ?, ?, ?)",
                arguments: [worker, category, source, Self.ms(now)])
            let id = db.lastInsertedRowID
            let occupancy = try Int.fetchOne(db, sql: "SELECT count(*) FROM visit WHERE checked_out IS NULL") ?? 0
            return (
                Visit(
                    id: id, worker: worker, category: category, source: source, checkedIn: now, checkedOut: nil,
                    closedBy: nil),
                true, occupancy
            )
        }
    }

    /// Closes the rider's open visit; nil when there is none.
    public func checkOut(worker: String, at now: Date) async throws -> Visit? {
        try await durableWrite { db in
            guard
                let open = try Row.fetchOne(
                    db, sql: "SELECT * FROM visit WHERE worker = ? AND checked_out IS NULL ORDER BY id DESC LIMIT 1",
                    arguments: [worker])
            else { return nil }
            var visit = Self.visit(open)
            try db.execute(
                sql: "UPDATE visit SET checked_out = ?, closed_by = 'rider' WHERE id = ?",
                arguments: [Self.ms(now), visit.id])
            visit.checkedOut = now
            visit.closedBy = "rider"
            return visit
        }
    }

    /// Closes visits open longer than `maxStay` (at check-in + maxStay) and deletes visits that
    /// started before `retainSince`. Returns the visits closed and the number deleted.
    public func maintainVisits(now: Date, maxStay: TimeInterval, retainSince: Date) async throws
        -> (closed: [Visit], deleted: Int)
    {
        try await durableWrite { db in
            let limit = Self.ms(now.addingTimeInterval(-maxStay))
            let stale = try Row.fetchAll(
                db, sql: "SELECT * FROM visit WHERE checked_out IS NULL AND checked_in <= ?", arguments: [limit]
            ).map(Self.visit)
            let stay = Int64(maxStay * 1000)
            try db.execute(
                sql:
                    "UPDATE visit SET checked_out = checked_in + ?, closed_by = 'auto' WHERE checked_out IS NULL AND checked_in <= ?",
                arguments: [stay, limit])
            try db.execute(sql: "DELETE FROM visit WHERE checked_in < ?", arguments: [Self.ms(retainSince)])
            let deleted = db.changesCount
            return (
                stale.map {
                    var v = $0
                    v.checkedOut = v.checkedIn.addingTimeInterval(maxStay)
                    v.closedBy = "auto"
                    return v
                }, deleted
            )
        }
    }

    /// Visits that started in [since, until), optionally only open ones, oldest first.
    public func visits(since: Date?, until: Date?, activeOnly: Bool) async throws -> [Visit] {
        try await pool.read { db in
            var sql = "SELECT * FROM visit WHERE 1"
            var args: [any DatabaseValueConvertible] = []
            if let since {
                sql += " AND checked_in >= ?"
                args.append(Self.ms(since))
            }
            if let until {
                sql += " AND checked_in < ?"
                args.append(Self.ms(until))
            }
            if activeOnly { sql += " AND checked_out IS NULL" }
            sql += " ORDER BY checked_in, id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(Self.visit)
        }
    }

    /// Visits that overlap [from, to): for statistics (peak occupancy needs the ones already inside).
    public func visitsOverlapping(from: Date, to: Date) async throws -> [Visit] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM visit WHERE checked_in < ? AND (checked_out IS NULL OR checked_out > ?) ORDER BY checked_in",
                arguments: [Self.ms(to), Self.ms(from)]
            ).map(Self.visit)
        }
    }

    /// Riders inside now.
    public func occupancy() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM visit WHERE checked_out IS NULL") ?? 0
        }
    }
}
