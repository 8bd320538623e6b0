#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationProtocol
import WaystationStorage

extension DistrictStore {
    /// RFC 3339 (with or without fractional seconds).
    public static func time(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// What is wrong with a set of changes (a field and why), before anything is applied.
    public static func problem(_ c: DistrictChanges) -> (field: String, reason: String)? {
        for v in c.verdicts ?? [] {
            if v.verdict != "verified", v.verdict != "rejected" {
                return (
                    "changes.verdicts", "verdict of report \(v.id) must be verified or rejected, got \"\(v.verdict)\""
                )
            }
            if time(v.judged) == nil { return ("changes.verdicts", "judged of report \(v.id) is not RFC 3339") }
            if v.points < 0 { return ("changes.verdicts", "points of report \(v.id) below zero") }
        }
        for cat in c.categories ?? [] where cat.id.isEmpty || cat.points < 0 {
            return ("changes.categories", "a category needs an id and points ≥ 0")
        }
        for n in c.notices ?? [] where time(n.from) == nil || time(n.until) == nil {
            return ("changes.notices", "from and until of notice \(n.id) must be RFC 3339")
        }
        for s in c.services ?? [] where s.id.isEmpty {
            return ("changes.services", "a service needs an id")
        }
        return nil
    }

    /// Applies the hub's changes and its cursor in one durable transaction. A verdict judges its
    /// local report only while it is pending (so once), with the district's points, audited as the
    /// district's; everything else is keyed state replaced as a whole. Returns the reports judged.
    public func apply(_ c: DistrictChanges, cursor: String, at now: Date) async throws -> Int {
        try await database.durableWrite { db in
            var judged = 0
            for v in c.verdicts ?? [] {
                let at = Self.time(v.judged) ?? now
                try db.execute(
                    sql: """
                        UPDATE hazard_report SET status = ?, points = ?, judged_by = 'district', judged_at = ?,
                        judge_note = ? WHERE id = ? AND status = 'pending'
                        """, arguments: [v.verdict, v.points, StationDatabase.ms(at), v.note, v.id])
                guard db.changesCount == 1 else { continue }
                judged += 1
                try db.execute(
                    sql: """
                        INSERT INTO district_report (report, verdict, judged) VALUES (?1, ?2, ?3)
                        ON CONFLICT(report) DO UPDATE SET verdict = excluded.verdict, judged = excluded.judged
                        """, arguments: [v.id, v.verdict, StationDatabase.ms(at)])
                try AuditRecord(
                    at: now, uid: 0, user: "district", action: "report-\(v.verdict)", target: "report \(v.id)",
                    old: "pending",
                    new: v.note.map { "\(v.verdict) (\(v.points) points): \($0)" }
                        ?? "\(v.verdict) (\(v.points) points)"
                ).insert(db)
            }
            if let categories = c.categories {
                try db.execute(sql: "DELETE FROM district_category")
                for (i, cat) in categories.enumerated() {
                    try db.execute(
                        sql: """
                            INSERT INTO district_category (id, name, name_zh, points, position) VALUES (?, ?, ?, ?, ?)
                            ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh,
                            points = excluded.points, position = excluded.position
                            """, arguments: [cat.id, cat.name, cat.nameZh, cat.points, i])
                }
            }
            for n in c.notices ?? [] {
                try db.execute(
                    sql: """
                        INSERT INTO district_notice (id, title, title_zh, body, body_zh, valid_from, valid_until, withdrawn)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET title = excluded.title,
                        title_zh = excluded.title_zh, body = excluded.body, body_zh = excluded.body_zh,
                        valid_from = excluded.valid_from, valid_until = excluded.valid_until,
                        withdrawn = excluded.withdrawn
                        """,
                    arguments: [
                        n.id, n.title, n.titleZh, n.body, n.bodyZh, StationDatabase.ms(Self.time(n.from) ?? now),
                        StationDatabase.ms(Self.time(n.until) ?? now), n.withdrawn,
                    ])
            }
            for s in c.services ?? [] {
                try db.execute(
                    sql: """
                        INSERT INTO district_service (id, name, name_zh, days, hours, withdrawn) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_zh = excluded.name_zh,
                        days = excluded.days, hours = excluded.hours, withdrawn = excluded.withdrawn
                        """,
                    arguments: [
                        s.id, s.name, s.nameZh, s.days?.joined(separator: ","), s.hours, s.withdrawn ?? false,
                    ])
            }
            for b in c.balances ?? [] {
                try db.execute(
                    sql: """
                        INSERT INTO district_balance (rider, balance, recent, updated) VALUES (?, ?, ?, ?)
                        ON CONFLICT(rider) DO UPDATE SET balance = excluded.balance, recent = excluded.recent,
                        updated = excluded.updated
                        """,
                    arguments: [b.rider, b.balance, try JSON.from(b.recent).text, StationDatabase.ms(now)])
            }
            try Self.ensureSyncRow(db)
            try db.execute(
                sql: "UPDATE district_sync SET cursor = ?, last_sync = ? WHERE id = 1",
                arguments: [cursor, StationDatabase.ms(now)])
            return judged
        }
    }

    /// What the kiosk shows from the district: categories (in the hub's order), notices not
    /// withdrawn, services not withdrawn, and when the station last synced.
    public struct Shown: Sendable {
        public var categories: [DistrictCategory] = []
        /// With their validity in Unix milliseconds.
        public var notices: [(notice: DistrictNotice, from: Int64, until: Int64)] = []
        public var services: [DistrictService] = []
        public var lastSync: Date?
        public init() {}
    }

    public func shown() async throws -> Shown {
        try await database.read { db in
            var s = Shown()
            s.categories = try Row.fetchAll(
                db, sql: "SELECT id, name, name_zh, points FROM district_category ORDER BY position, id"
            ).map { r in
                DistrictCategory(
                    id: try r["id"], name: try r["name"], nameZh: try r["name_zh"], points: try r["points"])
            }
            s.notices = try Row.fetchAll(
                db, sql: "SELECT * FROM district_notice WHERE withdrawn = 0 ORDER BY valid_from DESC, id DESC"
            ).map { r in
                let from: Int64 = try r["valid_from"]
                let until: Int64 = try r["valid_until"]
                let notice = DistrictNotice(
                    id: try r["id"], title: try r["title"], titleZh: try r["title_zh"], body: try r["body"],
                    bodyZh: try r["body_zh"], from: "", until: "", withdrawn: false)
                return (notice, from, until)
            }
            s.services = try Row.fetchAll(db, sql: "SELECT * FROM district_service WHERE withdrawn = 0 ORDER BY id").map
            { r in
                let days: String? = try r["days"]
                return DistrictService(
                    id: try r["id"], name: try r["name"], nameZh: try r["name_zh"],
                    days: days.map { $0.split(separator: ",").map(String.init) }, hours: try r["hours"],
                    withdrawn: false)
            }
            let last = try Int64.fetchOne(db, sql: "SELECT last_sync FROM district_sync WHERE id = 1")
            s.lastSync = last.map(StationDatabase.date(ms:))
            return s
        }
    }

    /// A rider's district balance (by the station's pseudonym), when the hub has sent one.
    public func balance(station pseudonym: String) async throws -> (
        balance: Int, recent: [DistrictEntry], updated: Date
    )? {
        try await database.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT b.balance, b.recent, b.updated FROM district_rider m
                        JOIN district_balance b ON b.rider = m.district WHERE m.station = ?
                        """, arguments: [pseudonym])
            else { return nil }
            let text: String = try row["recent"]
            let recent = (try? JSON.parse(Array(text.utf8))?.decode([DistrictEntry].self)) ?? []
            let updated: Int64 = try row["updated"]
            return (try row["balance"], recent, StationDatabase.date(ms: updated))
        }
    }
}
