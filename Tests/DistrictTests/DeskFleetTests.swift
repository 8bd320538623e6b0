import AsyncHTTPClient
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
import TestSupport
import Testing
import WaystationLink

@testable import WaystationDistrict

extension DistrictSuite {
    /// The desk's fleet, station pages and alerts against a real Prometheus and Alertmanager (Debian's
    /// binaries, HTTPS with client certificates as in examples/district), fed known series by a scrape
    /// target (python3's http.server serving one exposition file).
    @Suite("Desk fleet and alerts", .serialized)
    struct DeskFleetTests {
        static let prometheus = "/usr/bin/prometheus"
        static let alertmanager = "/usr/bin/prometheus-alertmanager"

        @Test("the store lists live stations with their pending report counts; revoked ones only by id")
        func store() async throws {
            try await TestHub.with { hub in
                for id in ["fa", "fb", "fc"] { _ = try await hub.enrol(id) }
                _ = try await hub.store.storeReports(station: "fb", [Self.report(1), Self.report(2)])
                _ = try await hub.store.storeReports(station: "fc", [Self.report(1)])
                #expect(try await hub.store.revokeStation("fc"))
                let all = try await hub.store.fleetStations()
                #expect(all.map(\.id) == ["fa", "fb"])
                #expect(all.map(\.pendingReports) == [0, 2])
                #expect(all.first?.name == "Station fa")
                #expect(all.first?.address == "Hanyang Rd fa")
                let revoked = try #require(try await hub.store.fleetStations(id: "fc").first)
                #expect(revoked.revoked && revoked.pendingReports == 1)
                #expect(try await hub.store.pendingReportCounts() == ["fb": 2, "fc": 1])
            }
        }

        @Test("fleet rows and flags from known series, worst first; a station's charts and series")
        func fleet() async throws {
            try await TestHub.with { hub in
                for id in ["fa", "fb", "fc", "fd", "fe"] { _ = try await hub.enrol(id) }
                _ = try await hub.store.storeReports(station: "fa", [Self.report(1)])
                let now = Date().timeIntervalSince1970
                try await Upstreams.with(hub, metrics: Self.metrics(now: now)) { up in
                    let env = up.env
                    _ = try await waitFor("Prometheus to scrape the stations") { () -> Bool? in
                        let seen = try? await env.upstream.promQuery(DeskFleetSection.queries.lastSeen)
                        return seen?.count == 4 ? true : nil
                    }
                    let body = try await DeskFleetSection.fleetBody(Self.request(env, .viewer)).text
                    #expect(!body.contains("class=\"error\""), "\(body)")
                    // Worst first: offline (fd, then fe: never seen), smoke (fc), warm fridge (fb), fa.
                    let order = ["fd", "fe", "fc", "fb", "fa"].map {
                        body.range(of: "data-station=\"\($0)\"")?.lowerBound
                    }
                    #expect(order.allSatisfy { $0 != nil })
                    #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
                    #expect(body.contains("<tr data-station=\"fd\" class=\"bad\">"))
                    #expect(body.contains("<tr data-station=\"fe\" class=\"bad\">"))
                    #expect(body.contains("<tr data-station=\"fc\" class=\"bad\">"))
                    #expect(body.contains("<tr data-station=\"fb\" class=\"warn\">"))
                    #expect(body.contains("<tr data-station=\"fa\">"))
                    #expect(body.contains("<span class=\"slot\" data-kind=\"smoke\">slot-2 smoke</span>"))
                    #expect(body.contains("<td data-col=\"fridge\" data-label=\"Fridge\" data-warm=\"1\">12.0 °C</td>"))
                    #expect(body.contains("<td data-col=\"fridge\" data-label=\"Fridge\">4.5 °C</td>"))
                    #expect(body.contains("<td data-col=\"riders_today\" data-label=\"Riders today\">17</td>"))
                    #expect(body.contains("<td data-col=\"pending_reports\" data-label=\"Pending reports\">1</td>"))
                    #expect(body.contains("1 h ago") && body.contains("0 min ago"))
                    #expect(body.contains(">Station fb</a>") && body.contains("Hanyang Rd fb"))
                    // Filters: only problems drops fa? No: fa has a pending report. A search narrows.
                    let found = try await DeskFleetSection.fleetBody(Self.request(env, .viewer, ["q": "rd fb"])).text
                    #expect(found.contains("data-station=\"fb\"") && !found.contains("data-station=\"fa\""))
                    let byName = try await DeskFleetSection.fleetBody(Self.request(env, .viewer, ["sort": "id"])).text
                    let ids = ["fa", "fb", "fc", "fd", "fe"].compactMap {
                        byName.range(of: "data-station=\"\($0)\"")?.lowerBound
                    }
                    #expect(ids.count == 5 && ids == ids.sorted())

                    // The station page: details, five charts pointing at the series API.
                    let (name, page) = try await DeskFleetSection.stationBody(Self.request(env, .viewer), "fb")
                    #expect(name == "Station fb")
                    #expect(page.text.contains("<h1 id=\"station-name\">Station fb</h1>"))
                    for chart in ["room", "fridge", "slots", "occupancy", "power"] {
                        #expect(
                            page.text.contains(
                                "id=\"chart-\(chart)\" data-series=\"/desk/api/stations/fb/series?chart=\(chart)&amp;hours=24\""
                            ))
                    }
                    #expect(page.text.contains("<script src=\"/desk/static/chart.min.js\" defer></script>"))
                    let fridge = try await DeskFleetSection.series(
                        Self.request(env, .viewer, ["chart": "fridge"]), "fb")
                    #expect(fridge.unit == "celsius")
                    #expect(fridge.series.map(\.label) == ["fridge"])
                    #expect(fridge.series.first?.points.last?.last == 12)
                    let slots = try await DeskFleetSection.series(Self.request(env, .viewer, ["chart": "slots"]), "fc")
                    #expect(slots.series.map(\.label) == ["slot1_temp", "slot2_temp"])
                    await #expect(throws: DeskError.self) {
                        try await DeskFleetSection.series(Self.request(env, .viewer, ["chart": "bogus"]), "fb")
                    }
                    #expect(DeskFleetSection.chartQuery("room", station: "fb\"} or vector(1) #") == nil)
                }
            }
        }

        @Test("alerts grouped critical first and escaped; a silence round-trips through Alertmanager")
        func alertsAndSilences() async throws {
            try await TestHub.with { hub in
                for id in ["fb", "fc"] { _ = try await hub.enrol(id) }
                try await Upstreams.with(hub, metrics: Self.metrics(now: Date().timeIntervalSince1970)) { up in
                    let env = up.env
                    try await up.postAlert(
                        ["alertname": "SlotNearlyFull", "station": "fc", "severity": "warning"], summary: "Slot 2 busy")
                    try await up.postAlert(
                        ["alertname": "FridgeWarm", "station": "fb", "severity": "critical"],
                        summary: "<img src=x onerror=alert(1)>")
                    _ = try await waitFor("Alertmanager to hold both alerts") { () -> Bool? in
                        (try? await env.upstream.alerts())?.count == 2 ? true : nil
                    }
                    let page = try await DeskFleetSection.alertsBody(Self.request(env, .desk)).text
                    #expect(!page.contains("<img"), "\(page)")
                    #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
                    let fb = try #require(page.range(of: "<section class=\"station-alerts\" data-station=\"fb\">"))
                    let fc = try #require(page.range(of: "<section class=\"station-alerts\" data-station=\"fc\">"))
                    #expect(fb.lowerBound < fc.lowerBound)
                    #expect(
                        page.contains("<li class=\"alert\" data-alertname=\"FridgeWarm\" data-severity=\"critical\">"))
                    #expect(page.contains("<form id=\"silence-new\""))
                    let (_, station) = try await DeskFleetSection.stationBody(Self.request(env, .viewer), "fb")
                    #expect(
                        station.text.contains(
                            "<ul id=\"station-alerts\"><li class=\"alert\" data-alertname=\"FridgeWarm\""))
                    #expect(!station.text.contains("SlotNearlyFull"))

                    // A viewer may not silence; bad input is named.
                    let form = DeskForm(urlencoded: "station=fb&alertname=FridgeWarm&hours=2&comment=door+left+open")
                    await #expect(throws: DeskError.forbidden) {
                        try await DeskFleetSection.createSilence(Self.request(env, .viewer), form)
                    }
                    await #expect(throws: DeskError.badRequest("hours must be a whole number 1-168.")) {
                        try await DeskFleetSection.createSilence(
                            Self.request(env, .desk), DeskForm(urlencoded: "station=fb&hours=169&comment=x"))
                    }
                    let id = try await DeskFleetSection.createSilence(Self.request(env, .desk), form)
                    let made = try #require(try await env.upstream.silences().first { $0.id == id })
                    #expect(
                        made.status.state == "active" && made.createdBy == "wang" && made.comment == "door left open")
                    #expect(
                        Set(made.matchers.map { "\($0.name)=\($0.value)" }) == ["station=fb", "alertname=FridgeWarm"])
                    _ = try await waitFor("the alert to be silenced") { () -> Bool? in
                        let a = try? await env.upstream.alerts().first { $0.labels["alertname"] == "FridgeWarm" }
                        return a?.status.state == "suppressed" ? true : nil
                    }
                    let silenced = try await DeskFleetSection.alertsBody(Self.request(env, .desk)).text
                    #expect(silenced.contains("<tr data-silence=\"\(id)\">"))
                    #expect(silenced.contains("action=\"/desk/alerts/silences/\(id)/expire\""))

                    try await DeskFleetSection.expireSilence(Self.request(env, .desk), id)
                    let expired = try #require(try await env.upstream.silences().first { $0.id == id })
                    #expect(expired.status.state == "expired")
                    let after = try await DeskFleetSection.alertsBody(Self.request(env, .desk)).text
                    #expect(!after.contains("data-silence=\"\(id)\""))
                    let audit = try await hub.store.db.client.query(
                        "SELECT action, staff, target FROM audit ORDER BY id", logger: Logger(label: "t"))
                    var rows: [String] = []
                    for try await (action, staff, target) in audit.decode((String, String, String?).self) {
                        rows.append("\(action) \(staff) \(target ?? "")")
                    }
                    #expect(rows == ["silence.add wang \(id)", "silence.expire wang \(id)"])
                }
            }
        }

        @Test("Prometheus unreachable: the error names it and the table still shows the hub's columns")
        func unreachable() async throws {
            try await TestHub.with { hub in
                _ = try await hub.enrol("fa")
                _ = try await hub.store.storeReports(station: "fa", [Self.report(1), Self.report(2)])
                let port = try LoopbackPort.free()
                var config = hub.config
                config.desk = DeskConfig(
                    prometheus: "https://127.0.0.1:\(port)", alertmanager: "https://127.0.0.1:\(port)",
                    ca: hub.config.ca)
                let upstream = try DeskUpstream(config: config.desk)
                let env = DeskEnv(
                    config: config, keys: hub.keys, store: hub.store, upstream: upstream, logger: Logger(label: "t"))
                do {
                    let body = try await DeskFleetSection.fleetBody(Self.request(env, .viewer)).text
                    #expect(
                        body.contains(
                            "<p class=\"error\" id=\"prometheus-error\">Cannot read Prometheus: Prometheus at https://127.0.0.1:\(port): "
                        ))
                    #expect(body.contains("<tr data-station=\"fa\">"))
                    #expect(body.contains("<td data-col=\"pending_reports\" data-label=\"Pending reports\">2</td>"))
                    #expect(body.contains("<td data-col=\"address\" data-label=\"Address\">Hanyang Rd fa</td>"))
                    let alerts = try await DeskFleetSection.alertsBody(Self.request(env, .viewer)).text
                    #expect(!alerts.contains("silences-error"), "Alertmanager's one failure is said once")
                    #expect(
                        alerts.contains(
                            "<p class=\"error\" id=\"alertmanager-error\">Cannot read the alerts: Alertmanager at https://127.0.0.1:\(port): connection refused</p>"
                        ))
                    try await upstream.shutdown()
                } catch {
                    try? await upstream.shutdown()
                    throw error
                }
                // Not configured at all: says so, "—" in Prometheus's columns.
                config.desk = DeskConfig()
                let none = DeskEnv(
                    config: config, keys: hub.keys, store: hub.store, upstream: try DeskUpstream(config: config.desk),
                    logger: Logger(label: "t"))
                let body = try await DeskFleetSection.fleetBody(Self.request(none, .viewer)).text
                #expect(body.contains("id=\"prometheus-none\""))
                #expect(body.contains("<td data-col=\"online\" data-label=\"Online\">—</td>"))
            }
        }

        @Test("Chart.js is served by the hub itself, from [desk] chartjs; a missing file is a 404 naming it")
        func chartjs() async throws {
            try await TestHub.with { hub in
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(hub.config.ca))
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                do {
                    let response = try await client.execute(
                        HTTPClientRequest(url: hub.baseURL + "/desk/static/chart.min.js"), timeout: .seconds(10))
                    let body = try await response.body.collect(upTo: 4 << 20)
                    #expect(response.status == .ok)
                    #expect(response.headers.first(name: "Content-Type") == "text/javascript; charset=utf-8")
                    let file = try Data(contentsOf: URL(fileURLWithPath: DeskConfig.defaultChartjs))
                    #expect(Data(body.readableBytesView) == file)
                    try await client.shutdown()
                } catch {
                    try? await client.shutdown()
                    throw error
                }
                let missing = await DeskFleetSection.chartjs("/nonexistent/chart.min.js")
                #expect(missing.status == .notFound)
            }
        }

        // MARK: helpers

        static func report(_ id: Int) -> DistrictReport {
            DistrictReport(
                id: id, key: "r-\(id)", category: "pothole", location: "Gate \(id)", note: nil, rider: nil,
                created: "2026-12-07T08:15:00+08:00")
        }

        static func request(_ env: DeskEnv, _ role: DeskRole, _ query: [String: String] = [:]) -> DeskRequest {
            DeskRequest(
                env: env, session: DeskSession(staff: "wang", role: role, csrf: "csrf-token"), lang: .en,
                uri: "/desk/fleet", address: "127.0.0.1", query: query)
        }

        /// The scrape target's exposition: fa fine, fb's fridge warm, fc a slot cut for smoke, fd last
        /// seen an hour ago, fe (enrolled) never seen.
        static func metrics(now: Double) -> String {
            func seen(_ s: String, _ t: Double) -> String {
                "station:waystation_last_seen_timestamp_seconds{station=\"\(s)\"} \(Int(t))\n"
            }
            var text = seen("fa", now) + seen("fb", now) + seen("fc", now) + seen("fd", now - 3600)
            for (s, t) in [("fa", 4.5), ("fb", 12.0), ("fc", 5.0)] {
                text +=
                    "waystation_point_value{station=\"\(s)\",device=\"fridge\",kind=\"fridge\",point=\"cabinet_temp\",unit=\"celsius\"} \(t)\n"
                text += "station:waystation_devices_offline:count{station=\"\(s)\"} 0\n"
                text += "waystation_outbox_pending{station=\"\(s)\",target=\"alertmanager\"} 0\n"
            }
            text += "waystation_day_unique_riders{station=\"fa\"} 17\n"
            text += "waystation_slot_interlocked{station=\"fc\",slot=\"slot-1\",reason=\"\"} 0\n"
            text += "waystation_slot_interlocked{station=\"fc\",slot=\"slot-2\",reason=\"smoke\"} 1\n"
            for n in 1...2 {
                text +=
                    "waystation_point_value{station=\"fc\",device=\"cabinet\",kind=\"charger\",point=\"slot\(n)_temp\",unit=\"celsius\"} 30\n"
            }
            return text
        }
    }
}

/// A real Prometheus scraping a file served by python3's http.server, and a real Alertmanager, both
/// HTTPS requiring a client certificate of the test hub's CA (the hub's own certificate serves them);
/// a DeskEnv whose upstream holds a client certificate of that CA.
struct Upstreams: Sendable {
    let env: DeskEnv

    static func with(_ hub: TestHub, metrics: String, _ body: @Sendable (Upstreams) async throws -> Void) async throws {
        let dir = try TempDir.make("desk-upstreams")
        let ossl = "/usr/bin/openssl"
        try await Run.checked(
            ossl,
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                dir + "/desk.key", "-out", dir + "/desk.csr", "-subj", "/CN=desk",
            ])
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n".write(
            toFile: dir + "/desk.ext", atomically: true, encoding: .utf8)
        try await Run.checked(
            ossl,
            [
                "x509", "-req", "-in", dir + "/desk.csr", "-CA", hub.dir + "/ca.pem", "-CAkey", hub.dir + "/ca.key",
                "-CAcreateserial", "-out", dir + "/desk.pem", "-days", "2", "-extfile", dir + "/desk.ext",
            ])
        try """
        tls_server_config:
          cert_file: "\(hub.dir)/hub.pem"
          key_file: "\(hub.dir)/hub.key"
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: "\(hub.dir)/ca.pem"
        """.write(toFile: dir + "/web.yml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/target", withIntermediateDirectories: true)
        try metrics.write(toFile: dir + "/target/metrics", atomically: true, encoding: .utf8)
        let (targetPort, promPort, amPort) = (try LoopbackPort.free(), try LoopbackPort.free(), try LoopbackPort.free())
        try """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: waystation
            honor_labels: true
            static_configs:
              - targets: ["127.0.0.1:\(targetPort)"]
        """.write(toFile: dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(
            toFile: dir + "/alertmanager.yml", atomically: true, encoding: .utf8)
        var procs: [Spawned] = []
        var upstream: DeskUpstream?
        do {
            procs.append(
                try Spawned(
                    "/usr/bin/python3",
                    ["-m", "http.server", String(targetPort), "--bind", "127.0.0.1", "--directory", dir + "/target"],
                    output: dir + "/target.log"))
            procs.append(
                try Spawned(
                    DistrictSuite.DeskFleetTests.prometheus,
                    [
                        "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/prom-data",
                        "--web.listen-address=127.0.0.1:\(promPort)", "--web.config.file=\(dir)/web.yml",
                        "--log.level=warn",
                    ], output: dir + "/prometheus.log"))
            procs.append(
                try Spawned(
                    DistrictSuite.DeskFleetTests.alertmanager,
                    [
                        "--config.file=\(dir)/alertmanager.yml", "--storage.path=\(dir)/am-data",
                        "--web.listen-address=127.0.0.1:\(amPort)", "--cluster.listen-address=",
                        "--web.config.file=\(dir)/web.yml", "--log.level=warn",
                    ], output: dir + "/alertmanager.log"))
            var config = hub.config
            config.desk = DeskConfig(
                prometheus: "https://127.0.0.1:\(promPort)", alertmanager: "https://127.0.0.1:\(amPort)",
                clientCertificate: dir + "/desk.pem", clientKey: dir + "/desk.key", ca: hub.dir + "/ca.pem")
            let up = try DeskUpstream(config: config.desk)
            upstream = up
            let env = DeskEnv(
                config: config, keys: hub.keys, store: hub.store, upstream: up, logger: Logger(label: "t"))
            _ = try await waitFor("Alertmanager to answer") { () -> Bool? in
                (try? await up.silences()) != nil ? true : nil
            }
            try await body(Upstreams(env: env))
        } catch {
            for name in ["target", "prometheus", "alertmanager"] {
                print(
                    "--- \(name).log\n" + ((try? String(contentsOfFile: "\(dir)/\(name).log", encoding: .utf8)) ?? ""))
            }
            try? await upstream?.shutdown()
            await stop(procs)
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        try await upstream?.shutdown()
        await stop(procs)
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func stop(_ procs: [Spawned]) async {
        for p in procs { p.signal(SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(20)
        for p in procs {
            while p.isRunning {
                if ContinuousClock.now > deadline { p.signal(SIGKILL) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Posts one firing alert to Alertmanager (as the stations' uplinks do).
    func postAlert(_ labels: [String: String], summary: String) async throws {
        let alert: [[String: [String: String]]] = [["labels": labels, "annotations": ["summary": summary]]]
        let data = try JSONEncoder().encode(alert)
        let _: DeskUpstream.Empty = try await env.upstream.alertmanager(.POST, "alerts", data)
    }
}
