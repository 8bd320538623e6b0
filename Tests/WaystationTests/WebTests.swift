import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationProtocol
import WaystationWeb

/// The real `waystation-web` binary, run as nobody in a kiosk group, in front of the real daemon.
@Suite("waystation-web", .serialized)
struct WebTests {
    final class Running: @unchecked Sendable {
        // @unchecked: set once in init.
        let kiosk: KioskTests.Running
        var web: Spawned?
        let port: Int
        /// `[web] metrics_listen`'s port, when `metrics` was asked for.
        let metricsPort: Int?
        /// The file limit the web face runs under (soft and hard), when one was asked for.
        let fileLimit: Int?
        var base: String { "http://127.0.0.1:\(port)" }
        var logPath: String { kiosk.station.dir + "/web.log" }

        init(extra: String = "", metrics: Bool = false, fileLimit: Int? = nil) async throws {
            port = try LoopbackPort.free()
            metricsPort = metrics ? try LoopbackPort.free() : nil
            self.fileLimit = fileLimit
            let metricsLine = metricsPort.map { "metrics_listen = \"127.0.0.1:\($0)\"\n" } ?? ""
            kiosk = try await KioskTests.Running(
                extra: "[web]\nlisten = \"127.0.0.1:\(port)\"\n" + metricsLine + extra)
            try await startWeb()
        }

        func startWeb() async throws {
            let limit = fileLimit.map { ["/usr/bin/prlimit", "--nofile=\($0):\($0)", "--"] } ?? []
            let argv =
                limit + [
                    "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--groups=\(kiosk.kioskGID)",
                    DaemonProcess.binDir + "/waystation-web", "--config", kiosk.station.configPath,
                ]
            web = try Spawned(argv[0], Array(argv.dropFirst()), output: logPath)
            try await waitUntil("waystation-web to answer", within: .seconds(20)) {
                (try? await self.curl(["/api/kiosk"]))?.status == 200
            }
        }

        deinit {
            web?.signal(SIGKILL)
            _ = web?.wait(timeout: .seconds(10))
        }

        /// curl: status, headers (lowercased names) and body.
        func curl(_ args: [String], method: String = "GET", body: String? = nil) async throws
            -> (status: Int, headers: [String: String], body: String)
        {
            var argv = ["-s", "-i", "--max-time", "10", "-X", method]
            if let body { argv += ["-H", "Content-Type: application/json", "--data-binary", body] }
            argv += args.dropFirst() + [base + args[0]]
            let (code, out) = try await Spawned.run("/usr/bin/curl", argv)
            guard code == 0, let split = out.range(of: "\r\n\r\n") else {
                throw TestSupportError("curl \(code): \(out)")
            }
            let head = out[..<split.lowerBound].split(separator: "\r\n")
            let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                if let colon = line.firstIndex(of: ":") {
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                        in: .whitespaces)
                }
            }
            return (status, headers, String(out[split.upperBound...]))
        }

        var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    }

    @Test("/metrics passes promtool, has the contract's names, and a point value equal to waystationctl read")
    func metrics() async throws {
        let r = try await Running(
            extra: "[kiosk]\nscan_interval = \"1s\"\n[[notify]]\nkind = \"webhook\"\nname = \"district\"\n"
                + "url = \"http://127.0.0.1:9/hook\"\nreports = true\n")
        try await r.kiosk.daemon.waitFor("t1 online") {
            try r.kiosk.call("ListDevices")["devices"]?.array?.first?["state"]?.string == "online"
        }
        _ = try await r.curl(["/api/scan"], method: "POST", body: #"{"id":"31415926","category":"courier"}"#)
        let m = try await r.curl(["/metrics"])
        #expect(m.status == 200)
        #expect(m.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let file = r.kiosk.station.dir + "/metrics.txt"
        try m.body.write(toFile: file, atomically: true, encoding: .utf8)
        let (promtool, out) = try await Spawned.run("/bin/sh", ["-c", "promtool check metrics < \(file)"])
        #expect(promtool == 0, "promtool: \(out)")
        for name in [
            "waystation_build_info", "waystation_daemon_up 1", "waystation_device_state",
            "waystation_device_maintenance", "waystation_device_last_good_read_timestamp_seconds",
            "waystation_point_value", "waystation_bus_requests_total", "waystation_bus_reconnects_total",
            "waystation_bus_request_duration_seconds_bucket", "waystation_alerts", "waystation_occupancy_riders 1",
            "waystation_capacity_riders 4", "waystation_checkins_total{category=\"courier\"} 1",
            "waystation_storage_ok 1", "waystation_storage_errors_total", "waystation_storage_written_bytes_total",
            "waystation_database_size_bytes", #"waystation_outbox_pending{target="district"}"#,
        ] {
            #expect(m.body.contains(name), "no \(name)")
        }
        #expect(m.body.contains(#"waystation_device_state{device="t1",kind="other",state="online"} 1"#))
        #expect(m.body.contains(#"waystation_bus_requests_total{bus="tcp",result="timeout"}"#))
        let (_, read) = try await Spawned.run(
            DaemonProcess.binDir + "/waystationctl", ["read", "t1", "u16", "--json", "--socket", r.kiosk.socket])
        let value = try #require(JSON.parse(Data(read.utf8))?["point"]?["value"]?.number)
        #expect(m.body.contains(#"waystation_point_value{device="t1",kind="other",point="u16",unit=""} \#(value)"#))
        // Daemon down: up 0 and the build info only; back when it is.
        r.kiosk.daemon.killHard()
        let down = try await r.curl(["/metrics"])
        #expect(down.body.contains("waystation_daemon_up 0"))
        #expect(down.body.contains("waystation_build_info{"))
        #expect(!down.body.contains("waystation_device_state"))
        let kiosk = try await r.curl(["/api/kiosk"])
        #expect(kiosk.body.contains(#""daemon_ok":false"#))
        try await r.kiosk.restart()
        try await waitUntil("the daemon back in /metrics") {
            (try await r.curl(["/metrics"])).body.contains("waystation_daemon_up 1")
        }
        let series = m.body.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        print("metrics: \(series) series for the test station (\(r.kiosk.station.config.devices.count) device)")
    }

    @Test("the kiosk API: page with its CSP, /api/kiosk, scan in and out, errors as the page's codes, SSE")
    func api() async throws {
        let r = try await Running(extra: "[kiosk]\nscan_interval = \"5s\"\n")
        let page = try await r.curl(["/"])
        #expect(page.status == 200 && page.body.contains("<html lang=\"zh-CN\">"))
        #expect(page.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
        #expect(page.headers["referrer-policy"] == "no-referrer")
        let status = try await r.curl(["/api/kiosk"])
        #expect(status.headers["cache-control"] == "no-store")
        let k = try #require(JSON.parse(Data(status.body.utf8)))
        #expect(k["daemon_ok"]?.bool == true && k["station"]?["capacity"]?.number == 4)
        #expect(k["visit_categories"]?.array?.count == 4)

        let card = "8860012345678901"
        let scan = #"{"id":"\#(card)","category":"ride_hailing"}"#
        let first = try await r.curl(["/api/scan"], method: "POST", body: scan)
        #expect(first.status == 200, "\(first.body)")
        let reply = try #require(JSON.parse(Data(first.body.utf8)))
        #expect(reply["action"]?.string == "checked_in" && reply["occupancy"]?.number == 1)
        let firstSession = try #require(reply["session"]?.string)
        // The same card again at once: "already checked in", a new session (the old one ended).
        let again = try await r.curl(["/api/scan"], method: "POST", body: scan)
        #expect(again.status == 200 && again.body.contains("already_checked_in"), "\(again.body)")
        let session = try #require(JSON.parse(Data(again.body.utf8))?["session"]?.string)
        #expect((try await r.curl(["/api/rider?session=\(firstSession)"])).status == 401)
        let rider = try await r.curl(["/api/rider?session=\(session)"])
        #expect(rider.status == 200 && JSON.parse(Data(rider.body.utf8))?["points"]?.number == 0)
        let report = try await r.curl(
            ["/api/report"], method: "POST",
            body: #"{"session":"\#(session)","category":"fallen_cable","location":"bridge","note":""}"#)
        #expect(report.status == 200, "\(report.body)")
        let badPlace = try await r.curl(
            ["/api/report"], method: "POST",
            body: #"{"session":"\#(session)","category":"fallen_cable","location":"   "}"#)
        #expect(badPlace.status == 400 && badPlace.body.contains("invalid_location"))
        try await waitUntil("the second scan to check out", within: .seconds(20)) {
            let out = try await r.curl(["/api/scan"], method: "POST", body: scan)
            return out.status == 200 && out.body.contains("checked_out")
        }
        #expect((try await r.curl(["/api/rider?session=\(session)"])).status == 401)
        // Out, and again at once: rate-limited, with the seconds to wait.
        let limited = try await r.curl(["/api/scan"], method: "POST", body: scan)
        #expect(limited.status == 429 && limited.body.contains("rate_limited"))
        #expect(limited.headers["retry-after"] != nil)
        #expect((try await r.curl(["/api/rider?session=nothex"])).body.contains("session_expired"))
        let badID = try await r.curl(["/api/scan"], method: "POST", body: #"{"id":"12;34","category":"courier"}"#)
        #expect(badID.status == 400 && badID.body.contains("invalid_id"))
        let badCat = try await r.curl(["/api/scan"], method: "POST", body: #"{"id":"1234","category":"pilot"}"#)
        #expect(badCat.status == 400 && badCat.body.contains("invalid_category"))
        // No category (a reader scan without a tap): checked in as "unknown", never a guess.
        let noCat = try await r.curl(["/api/scan"], method: "POST", body: #"{"id":"5555","category":null}"#)
        #expect(noCat.status == 200 && noCat.body.contains("checked_in"), "\(noCat.body)")
        let big = try await r.curl(
            ["/api/scan"], method: "POST", body: #"{"id":"1","pad":"\#(String(repeating: "x", count: 5000))"}"#)
        #expect(big.status == 413)
        let logout = try await r.curl(["/api/logout"], method: "POST", body: #"{"session":"\#(session)"}"#)
        #expect(logout.status == 200)
        // Server-sent events: a real `event: kiosk` message at once.
        let (_, sse) = try await Spawned.run("/usr/bin/curl", ["-s", "-N", "--max-time", "2", r.base + "/api/events"])
        #expect(sse.contains("event: kiosk\ndata: {"))
        #expect(sse.contains(#""daemon_ok":true"#))
        // The raw id is in no log, no file, no reply after the scan.
        var files = [r.logPath, r.kiosk.daemon.logPath]
        files += ["", "-wal"].map { r.kiosk.station.dir + "/station.db" + $0 }
        for f in files {
            let data = FileManager.default.contents(atPath: f) ?? Data()
            #expect(data.range(of: Data(card.utf8)) == nil, "the raw id in \(f)")
        }
        for body in [first.body, limited.body, rider.body, report.body, sse] { #expect(!body.contains(card)) }
        // Log lines carry no query string (the session token).
        #expect(!r.log.contains(session))
        if let pid = r.web?.pid, let st = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let rss = st.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        {
            print("waystation-web \(rss)")
        }
    }

    @Test("unit words for the point_value label")
    func units() {
        #expect(UnitLabel.word("°C") == "celsius")
        #expect(UnitLabel.word("W") == "watts")
        #expect(UnitLabel.word("V") == "volts")
        #expect(UnitLabel.word("A") == "amperes")
        #expect(UnitLabel.word("kWh") == "kilowatt_hours")
        #expect(UnitLabel.word("Hz") == "hertz")
        #expect(UnitLabel.word("%") == "percent")
        #expect(UnitLabel.word(nil) == "")
        #expect(UnitLabel.word("m³/h") == "m__h")
    }
}
