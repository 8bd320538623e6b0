import Foundation
import Logging
import Testing
import WaystationAlerts
import WaystationDaemon
import WaystationPolling
@testable import WaystationStorage
import WaystationVisits

/// Databases written by the daemon before the SQLite layer replaced its storage library: same WAL
/// file, same tables, migrations recorded in `grdb_migrations`. They must open as migrated, keep
/// their rows, take the migrations they lack, and a newer one must still be refused.
@Suite("Databases from before the SQLite layer")
struct StorageCompatibilityTests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-compat-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes a database as the previous library left it: WAL, every migration up to `order`
    /// applied in its own transaction and recorded in `grdb_migrations (identifier TEXT NOT NULL
    /// PRIMARY KEY)`; then `rows` (raw SQL, values as that library stored them).
    static func oldDatabase(_ path: String, upTo order: Int, rows: String) throws {
        var config = Configuration()
        config.journalMode = .wal
        let db = try Database(path: path, configuration: config)
        try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        let all = (StationDaemon.migrations + StationDatabase.migrations).sorted { $0.order < $1.order }
        for m in all where m.order <= order {
            try db.inTransaction(.immediate) {
                try m.migrate(db)
                try db.execute(sql: "INSERT INTO grdb_migrations VALUES (?)", arguments: [m.identifier])
                return .commit
            }
        }
        try db.execute(sql: rows)
        try db.close()
    }

    static func identifiers(_ path: String) throws -> [String] {
        let db = try Database(path: path)
        defer { try? db.close() }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
    }

    @Test("a database written before the layer opens as migrated, takes v8 and v9, every row readable")
    func currentSchema() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/station.db"
        try Self.oldDatabase(
            path, upTo: 7,
            rows: """
                INSERT INTO series (id, device, point) VALUES (1, 'fridge', 'cabinet_temp');
                INSERT INTO point_value (series, at, value) VALUES (1, 1700000000000, 4.5), (1, 1700000001000, NULL),
                    (1, 1700003600000, 5.25), (1, 1700003600500, -3);
                INSERT INTO point_aggregate (series, minute, min, max, avg, count)
                    VALUES (1, 1699999980, 4.5, 4.5, 4.5, 12), (1, 1700003580, 4.5, 5.25, 4.8125, 60);
                INSERT INTO device_state (device, at, from_state, state, cause)
                    VALUES ('fridge', 1700000000000, 'unknown', 'online', 'answered');
                INSERT INTO audit (at, uid, user, action, target, old, new)
                    VALUES (1700000000000, 0, 'root', 'maintenance', 'fridge', NULL, 'cleaning');
                INSERT INTO maintenance VALUES ('fridge', 'cleaning', 1700000000000, 0, 'root');
                INSERT INTO visit (worker, category, source, checked_in) VALUES ('ab12', 'courier', NULL, 1700000000000);
                INSERT INTO alert VALUES ('f1', 'FridgeDoorOpen', 'fridge',
                    '{"alertname":"FridgeDoorOpen","device":"fridge"}', 'warning', 'firing', 1700000000000,
                    1700000000000, NULL, 1700000000000, 1700000000000, 1.0, 'Fridge door open', NULL, NULL, NULL, 0,
                    1700000000000);
                INSERT INTO silence (matchers, until, by, comment)
                    VALUES ('{"device":"fridge"}', 4102444800000, 'root', 'defrosting');
                INSERT INTO outbox (target, created, payload, attempts) VALUES ('hook', 1700000000000, '{}', 2);
                INSERT INTO hazard_report (reporter, category, location, note, created, status, points)
                    VALUES ('ab12', 'pothole', 'Main St', NULL, 1700000000000, 'pending', 5);
                INSERT INTO slot_lock (slot, reason, at) VALUES
                    ('slot-1', 'storage recovered (station.db.corrupt-x); check the slot, then enable-slot', 1),
                    ('slot-2', 'temperature sensor lost (s.t): last reading 9 s old', 1),
                    ('slot-3', 'temperature 70 °C above the limit of 60 °C', 1),
                    ('slot-4', 'smoke detected (panel.smoke)', 1),
                    ('slot-5', 'drawing 2 A with no battery present', 1),
                    ('slot-6', 'temperature rising 3 °C/min, faster than 2 °C/min', 1);
                """)
        let before = try Self.identifiers(path)
        #expect(before.count == 7)

        let db = try openDatabase(path)
        #expect(
            Set(try Self.identifiers(path)).subtracting(before)
                == [
                    "v8: history in packed blocks", "v9: slot lock kinds", "v10: duplicate hazard reports",
                    "v11: retention horizon", "v12: district link",
                ],
            "only the later migrations ran")
        // v9 gave each latch its kind, derived once from its words; the words are kept.
        let locks = try await AlertStore(database: db).slotLocks()
        #expect(
            locks.mapValues(\.kind) == [
                "slot-1": .storageRecovered, "slot-2": .sensorLost, "slot-3": .overheated, "slot-4": .smoke,
                "slot-5": .noBattery, "slot-6": .temperatureRising,
            ])
        #expect(locks["slot-1"]?.reason.hasPrefix("storage recovered") == true)
        #expect(db.health.status.recoveredFrom == nil, "not taken for damage")
        let history = HistoryStore(database: db)
        // Two hours of v1 rows: two blocks of samples, one of minutes; the v1 tables are gone.
        let values = try history.values(device: "fridge", point: "cabinet_temp")
        #expect(values.map(\.value) == [4.5, nil, 5.25, -3])
        #expect(
            values.map { StationDatabase.ms($0.at) } == [
                1_700_000_000_000, 1_700_000_001_000, 1_700_003_600_000, 1_700_003_600_500,
            ])
        #expect(
            try history.aggregates(device: "fridge", point: "cabinet_temp") == [
                .init(minute: 1_699_999_980, min: 4.5, max: 4.5, avg: 4.5, count: 12),
                .init(minute: 1_700_003_580, min: 4.5, max: 5.25, avg: 4.8125, count: 60),
            ])
        #expect(try db.readNow { try Int.fetchOne($0, sql: "SELECT count(*) FROM value_block_19675") } == 2)
        #expect(
            try db.readNow { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master WHERE name LIKE 'point_%'") }
                == 0)
        #expect(try history.transitions(device: "fridge").map(\.to) == ["online"])
        #expect(try await MaintenanceStore(database: db).load()["fridge"]?.reason == "cleaning")
        #expect(try await db.auditEntries(limit: 10).map(\.new) == ["cleaning"])
        let alerts = AlertStore(database: db)
        let loaded = try await alerts.loadAlerts()
        #expect(loaded.map(\.labels) == [["alertname": "FridgeDoorOpen", "device": "fridge"]])
        #expect(loaded.first?.state == .firing && loaded.first?.escalated == false && loaded.first?.value == 1.0)
        #expect(try await alerts.activeSilences(at: Date()).map(\.comment) == ["defrosting"])
        #expect(try await Outbox(database: alerts.database).next(target: "hook")?.attempts == 2)
        let visits = VisitStore(database: db)
        #expect(try await visits.occupancy() == 1)
        let reports = HazardReportStore(database: db)
        #expect(try await reports.report(1)?.status == .pending)
        // And it takes writes, on the same tables.
        let (_, created, occupancy) = try await visits.checkIn(
            worker: "cd34", category: "driver", source: nil, at: Date())
        #expect(created && occupancy == 2)
        #expect(try await visits.checkOut(worker: "ab12", at: Date())?.visit.closedBy == "rider")
    }

    @Test("a database from before the v5 columns takes the missing migrations; its alert rows are carried over")
    func olderSchema() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/station.db"
        try Self.oldDatabase(
            path, upTo: 4,
            rows: """
                INSERT INTO alert VALUES ('f1',
                    '{"rule":"FridgeDoorOpen","device":"fridge","labels":{"alertname":"FridgeDoorOpen"},"severity":"critical","summary":"open","fired_at":1700000000.5,"escalated":true}',
                    'firing', 1700000000000);
                INSERT INTO outbox (target, created, payload) VALUES ('hook', 1700000000000, '{}');
                """)
        let db = try openDatabase(path)
        #expect(try Self.identifiers(path).count == (StationDaemon.migrations + StationDatabase.migrations).count)
        let alerts = try await AlertStore(database: db).loadAlerts()
        #expect(alerts.count == 1)
        #expect(alerts.first?.severity == .critical && alerts.first?.escalated == true)
        #expect(alerts.first?.firedAt == Date(timeIntervalSince1970: 1_700_000_000.5))
        #expect(try await Outbox(database: db).next(target: "hook")?.failed == nil)
        #expect(try db.integrityCheck() == "ok")
    }

    @Test("a database that records a migration this build does not know is refused, and left as it is")
    func newerRefused() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/station.db"
        try Self.oldDatabase(
            path, upTo: 8, rows: "INSERT INTO grdb_migrations VALUES ('v99: from the future')")
        let refusal = #expect(throws: StationDatabase.Newer.self) { _ = try openDatabase(path) }
        #expect(refusal?.description.contains("v99: from the future") == true)
        #expect(refusal?.description.contains("newer waystationd") == true)
        #expect(try Self.identifiers(path).count == 9, "nothing applied, nothing removed")
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("corrupt") }
        #expect(kept.isEmpty, "a newer database is not damage: it is not moved aside")
    }

    @Test("a migration that fails is rolled back and not recorded; the next open tries it again")
    func failedMigration() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/m.db"
        struct Refused: Error {}
        let failing = [
            StorageMigration(order: 1, "a") { db in try db.execute(sql: "CREATE TABLE a (x)") },
            StorageMigration(order: 3, "b") { db in
                try db.execute(sql: "CREATE TABLE b (x)")
                throw Refused()
            },
        ]
        #expect(throws: Refused.self) { _ = try StationDatabase(path: path, migrations: failing, logger: testLogger) }
        #expect(try Self.identifiers(path).sorted() == ["a", "v2: audit and maintenance"])
        let db = try Database(path: path)
        #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'b'") == 0)
        try db.close()
        let fixed = [failing[0], StorageMigration(order: 3, "b") { db in try db.execute(sql: "CREATE TABLE b (x)") }]
        _ = try StationDatabase(path: path, migrations: fixed, logger: testLogger)
        #expect(
            try Self.identifiers(path).sorted() == ["a", "b", "v11: retention horizon", "v2: audit and maintenance"])
    }
}
