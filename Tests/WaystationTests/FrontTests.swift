import Foundation
import Testing
import WaystationCore
import WaystationVisits

/// The front's config (`[web]`, `[[service]]`, `[[hazard]]`, `[kiosk]`), point roles, and the kiosk's
/// pure session and rate-limit logic.
@Suite("Kiosk config and logic")
struct FrontTests {
    static let base = """
        [station]
        id = "s1"
        district = "haiyan"

        """

    static func load(_ text: String) throws(ConfigErrors) -> StationConfig {
        try StationConfigLoader.load(text: base + text, path: "/tmp/front-test.toml")
    }

    @Test("defaults: 127.0.0.1:8480, no services, the five default hazard categories")
    func defaults() throws {
        let c = try Self.load("")
        #expect(c.station.district == "haiyan")
        #expect(c.front.web.listen.description == "127.0.0.1:8480")
        #expect(c.front.web.metricsListen == nil)
        #expect(c.front.services.isEmpty)
        #expect(
            c.front.hazards.map(\.id) == [
                "manhole_cover", "fallen_cable", "corridor_charging", "elderly_visit", "other",
            ])
        #expect(c.front.hazards.first?.name == "井盖破损")
    }

    @Test("services, hazards, presets and listen addresses are read")
    func parsed() throws {
        let c = try Self.load(
            """
            [web]
            listen = "0.0.0.0:8080"
            metrics_listen = "[::1]:9436"
            [kiosk]
            location_presets = ["南门", "菜市场"]
            scan_interval = "3s"
            report_window = "90s"
            emergency_phone = "119"
            staff_phone = "+86 27-8888 6666"
            [[service]]
            name = "法律援助"
            name_en = "Legal aid"
            days = ["tue", "mon"]
            hours = "14:00-17:00"
            [[hazard]]
            id = "pothole"
            name = "路面坑洼"
            points = 3
            """)
        #expect(c.front.web.listen == .init(host: "0.0.0.0", port: 8080))
        #expect(c.front.web.metricsListen == .init(host: "::1", port: 9436))
        #expect(c.front.kiosk.locationPresets == ["南门", "菜市场"])
        #expect(c.front.kiosk.scanInterval == .seconds(3))
        #expect(c.front.kiosk.reportWindow == .seconds(90))
        #expect(c.front.kiosk.emergencyPhone == "119" && c.front.kiosk.staffPhone == "+86 27-8888 6666")
        #expect(try Self.load("").front.kiosk.emergencyPhone == nil)
        #expect(
            c.front.services == [.init(name: "法律援助", nameEn: "Legal aid", days: ["mon", "tue"], hours: "14:00-17:00")])
        #expect(c.front.hazards == [.init(id: "pothole", name: "路面坑洼", nameEn: nil, points: 3)])
    }

    @Test("bad values are errors with the file, the line, the key and what was expected")
    func errors() throws {
        let text = """
            [web]
            listen = "localhost"
            [[service]]
            name = "Legal aid"
            days = ["tuesday"]
            hours = "17:00-14:00"
            [[hazard]]
            id = "bad id"
            name = "x"
            points = -1
            [[notify]]
            kind = "alertmanager"
            url = "http://127.0.0.1:9093"
            reports = true
            [kiosk]
            emergency_phone = "call Li"
            """
        do {
            _ = try Self.load(text)
            Issue.record("accepted a bad config")
        } catch {
            let lines = error.errors.map(\.description)
            func has(_ line: Int, _ fragment: String) -> Bool {
                lines.contains { $0.hasPrefix("/tmp/front-test.toml:\(line):") && $0.contains(fragment) }
            }
            #expect(has(5, "[web] key 'listen'") && has(5, "HOST:PORT"), "\(lines)")
            #expect(has(8, "unknown day \"tuesday\""), "\(lines)")
            #expect(has(9, "HH:MM-HH:MM"), "\(lines)")
            #expect(has(11, "[[hazard]] \"bad id\" key 'id'"), "\(lines)")
            #expect(has(13, "key 'points'"), "\(lines)")
            #expect(has(17, "webhook targets only"), "\(lines)")
            #expect(has(19, "[kiosk] key 'emergency_phone'") && has(19, "phone number"), "\(lines)")
        }
    }

    @Test("the shipped profiles carry the roles the kiosk needs; an unknown role is an error")
    func roles() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        func role(_ profile: String, _ point: String) throws -> PointRole? {
            try ProfileLoader.load(path: "\(repo)/devices/\(profile).toml").point(named: point)?.role
        }
        #expect(try role("ac-intesis-midea", "room_temp") == .roomTemperature)
        #expect(try role("ac-intesis-midea", "on") == .acRunning)
        #expect(try role("ac-intesis-midea", "setpoint") == .setpoint)
        #expect(try role("fridge-carel-ir33", "cabinet_temp") == .waterTemperature)
        #expect(try role("fridge-basic", "cabinet_temp") == .waterTemperature)
        #expect(try role("microwave-pzem016", "power") == .power)
        let bad = ProfileLoader.parse(
            text: """
                [profile]
                name = "x"
                kind = "fridge"
                [[point]]
                name = "t"
                table = "input"
                address = 0
                type = "int16"
                role = "temperature"
                """, path: "/tmp/x.toml")
        guard case .failure(let e) = bad else { return #expect(Bool(false), "accepted an unknown role") }
        #expect(e.description.contains("/tmp/x.toml:9:") && e.description.contains("room_temperature"))
    }

    @Test("sessions: a token stands for a rider until unused for the timeout; a new scan ends the old one")
    func sessions() {
        var s = KioskSessions(timeout: 60, capacity: 3)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        s.open(token: "a", pseudonym: "P", now: t0)
        #expect(s.use("a", now: t0.addingTimeInterval(59)) == "P")
        #expect(s.use("a", now: t0.addingTimeInterval(118)) == "P", "use keeps it alive")
        #expect(s.use("a", now: t0.addingTimeInterval(179)) == nil)
        s.open(token: "b", pseudonym: "P", now: t0)
        s.open(token: "c", pseudonym: "P", now: t0)
        #expect(s.use("b", now: t0) == nil && s.use("c", now: t0) == "P")
        for (i, p) in ["Q", "R", "S"].enumerated() {
            s.open(token: p, pseudonym: p, now: t0.addingTimeInterval(Double(i + 1)))
        }
        #expect(s.count == 3, "capacity")
        #expect(KioskSessions.newToken().count == 32 && KioskSessions.newToken() != KioskSessions.newToken())
    }

    @Test("reports: only within the window after the rider's own scan or report; looking does not extend it")
    func reportWindow() {
        var s = KioskSessions(timeout: 180)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        s.open(token: "a", pseudonym: "P", now: t0)
        #expect(s.reporter("a", now: t0.addingTimeInterval(30), window: 60) == "P")
        // The panel refreshed (use) every few seconds: still only a minute after the scan.
        for i in stride(from: 35.0, through: 70, by: 5) { #expect(s.use("a", now: t0.addingTimeInterval(i)) == "P") }
        #expect(s.reporter("a", now: t0.addingTimeInterval(61), window: 60) == nil, "a panel left open")
        #expect(s.use("a", now: t0.addingTimeInterval(62)) == "P", "the session itself lives on")
        // A report filed restarts the window.
        s.open(token: "b", pseudonym: "Q", now: t0)
        #expect(s.reporter("b", now: t0.addingTimeInterval(50), window: 60) == "Q")
        s.acted("b", now: t0.addingTimeInterval(50))
        #expect(s.reporter("b", now: t0.addingTimeInterval(100), window: 60) == "Q")
        #expect(s.reporter("b", now: t0.addingTimeInterval(111), window: 60) == nil)
        #expect(s.reporter("nope", now: t0, window: 60) == nil)
    }

    @Test("rate limits: one scan per rider per interval, and so many a minute from everyone")
    func limits() {
        var l = ScanLimiter(perRider: 5, perMinute: 3)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        #expect(l.admit("a", now: t0) == nil)
        #expect(l.scannedRecently("a", now: t0.addingTimeInterval(1)) && !l.scannedRecently("b", now: t0))
        #expect(l.admit("a", now: t0.addingTimeInterval(1)) == 4)
        #expect(l.admit("a", now: t0.addingTimeInterval(5)) == nil)
        #expect(l.admit("b", now: t0.addingTimeInterval(6)) == nil)
        #expect(l.admit("c", now: t0.addingTimeInterval(7)) == 53, "3 in the last minute")
        #expect(l.admit("c", now: t0.addingTimeInterval(60)) == nil)
    }
}
