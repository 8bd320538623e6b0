import Foundation
import Testing
import WaystationDistrict
import WaystationLink
import WaystationLinkClient

extension DistrictSuite {
    @Suite("District Open311 and CLI", .serialized)
    struct Open311Tests {
        static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        @Test("Open311 GeoReport v2 read by a real client (georeport): services, requests, filters, no pseudonym")
        func open311() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-001")) { client in try await Self.checkOpen311(hub, client) }
            }
        }

        static func checkOpen311(_ hub: TestHub, _ client: HubClient) async throws {
            let rider = try await LedgerTests.pseudonym("13800138000", hub, client)
            _ = try await client.sendReports(
                ReportsRequest(reports: [
                    SyncTests.report(1, "pothole", rider: rider), SyncTests.report(2, "manhole", rider: rider),
                ]))
            // Reports dated now, inside Open311's default 90-day window.
            _ = try await hub.store.db.client.query("UPDATE reports SET created = now()")
            let rows = try await hub.store.reports(status: nil)
            let verified = try #require(rows.first { $0.stationReport == 1 })
            try await hub.store.verify(report: verified.id, note: "fixed", by: "clerk")
            let open = rows.filter { $0.id != verified.id }.map { String($0.id) }
            let expected: [String: [String]] = [
                "services": ["manhole", "pothole"], "open": open, "closed": [String(verified.id)],
                "forbidden": [rider],
            ]
            let json = String(decoding: try JSONEncoder().encode(expected), as: UTF8.self)
            let out = try await Run.run(
                "/usr/bin/env",
                [
                    "python3", Self.repo + "/Tests/python/open311_check.py", hub.baseURL + "/open311/v2",
                    hub.config.ca, json,
                ])
            #expect(out.status == 0, "\(out.stderr)")
        }

        var binary: String { Self.repo + "/.build/debug/waystation-district" }

        @Test("the CLI enrols (files 0600 in a 0700 folder), lists, verifies; a bad config exits 78 naming the key")
        func cli() async throws {
            try await TestHub.with { hub in
                let config = hub.dir + "/hub.toml"
                let out = hub.dir + "/enrol-cli"
                let add = try await Run.run(
                    binary,
                    [
                        "--config", config, "stations", "add", "fl-009", "--name", "Gate 9", "--address",
                        "9 Hanyang Rd",
                        "--out", out, "--url", hub.baseURL,
                    ])
                #expect(add.status == 0, "\(add.stderr)")
                for file in ["token", "hub-ca.pem", "hub-rider.pub", "district.toml"] {
                    let attributes = try FileManager.default.attributesOfItem(atPath: out + "/" + file)
                    #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(file)")
                }
                let dirMode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
                #expect(dirMode == 0o700)
                let toml = try String(contentsOfFile: out + "/district.toml", encoding: .utf8)
                #expect(toml.contains("station = \"fl-009\""))
                #expect(toml.contains("url = \"\(hub.baseURL)\""))
                let pub = try String(contentsOfFile: out + "/hub-rider.pub", encoding: .utf8)
                #expect(
                    try RiderSeal.publicKey(base64: pub).rawRepresentation == hub.keys.hpke.publicKey.rawRepresentation)

                let client = try HubClient(
                    baseURL: hub.baseURL, station: "fl-009", tokenFile: out + "/token", caFile: out + "/hub-ca.pem")
                try await using(client) { client in
                    _ = try await client.sendReports(
                        ReportsRequest(reports: [SyncTests.report(7, "manhole", rider: nil)]))
                }
                let list = try await Run.run(binary, ["--config", config, "reports", "list", "--status", "pending"])
                #expect(list.status == 0)
                let id = try #require(list.stdout.split(separator: "\t").first.map(String.init))
                #expect(list.stdout.contains("fl-009#7"))
                let verify = try await Run.run(binary, ["--config", config, "reports", "verify", id, "--note", "ok"])
                #expect(verify.status == 0, "\(verify.stderr)")
                #expect(verify.stdout.contains("10 points"))
                #expect(try await hub.store.reports(status: "verified").map(\.stationReport) == [7])
                let stations = try await Run.run(binary, ["--config", config, "stations", "list"])
                #expect(stations.stdout.contains("fl-009\tactive"))
                let revoke = try await Run.run(binary, ["--config", config, "stations", "revoke", "fl-009"])
                #expect(revoke.status == 0)
                #expect(try await hub.store.stations().first { $0.id == "fl-009" }?.revoked == true)

                let bad = hub.dir + "/bad.toml"
                try String(contentsOfFile: config, encoding: .utf8)
                    .replacingOccurrences(of: "lookups_per_hour = 1000", with: "lookups_per_hour = \"many\"")
                    .write(toFile: bad, atomically: true, encoding: .utf8)
                let refused = try await Run.run(binary, ["--config", bad, "migrate"])
                #expect(refused.status == 78)
                #expect(refused.stderr.contains("[limits] lookups_per_hour"))
            }
        }
    }

    @Suite("District serve")
    struct ServeTests {
        @Test("waystation-district serve: HTTPS with the configured certificate, a station syncs, SIGTERM stops it")
        func serve() async throws {
            try await TestHub.with { hub in
                let port = try freePort()
                let config = hub.dir + "/serve.toml"
                try String(contentsOfFile: hub.dir + "/hub.toml", encoding: .utf8)
                    .replacingOccurrences(of: "listen = \"127.0.0.1:0\"", with: "listen = \"127.0.0.1:\(port)\"")
                    .write(toFile: config, atomically: true, encoding: .utf8)
                let server = Process()
                server.executableURL = URL(fileURLWithPath: Open311Tests.repo + "/.build/debug/waystation-district")
                server.arguments = ["--config", config, "serve"]
                server.standardInput = FileHandle.nullDevice
                server.standardOutput = FileHandle.nullDevice
                server.standardError = FileHandle.nullDevice
                let (exited, continuation) = AsyncStream<Int32>.makeStream()
                server.terminationHandler = { p in
                    continuation.yield(p.terminationStatus)
                    continuation.finish()
                }
                try server.run()
                do {
                    _ = try await hub.enrol("fl-050")
                    let client = try HubClient(
                        baseURL: "https://127.0.0.1:\(port)", station: "fl-050",
                        tokenFile: hub.dir + "/stations/fl-050/token", caFile: hub.dir + "/stations/fl-050/hub-ca.pem",
                        timeout: .seconds(3))
                    let changes = try await using(client) { client in
                        try await waitFor("the served hub answering") { () -> DistrictChanges? in
                            try? await client.changes(since: "")
                        }
                    }
                    #expect(changes.categories?.map(\.id) == ["manhole", "pothole"])
                } catch {
                    server.terminate()
                    for await _ in exited {}
                    throw error
                }
                server.terminate()
                var status: Int32 = -1
                for await s in exited { status = s }
                #expect(status == 0)
            }
        }

        /// A loopback port nothing listens on (bound and released).
        func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket failed") }
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
                }
            }
            guard ok else { throw TestFailure("bind failed") }
            return Int(UInt16(bigEndian: addr.sin_port))
        }
    }

    @Suite("District config")
    struct HubConfigTests {
        static let base = """
            [district]
            id = "hanyang"
            [database]
            url = "postgres://hub@127.0.0.1:5432/district"
            [web]
            listen = "0.0.0.0:8443"
            [tls]
            certificate = "hub.pem"
            key = "hub.key"
            ca = "ca.pem"
            [privacy]
            rider_key = "/var/lib/waystation-district/rider.key"
            hpke_key = "hpke.key"
            """

        @Test("defaults and paths: time zone Asia/Shanghai, files relative to the config")
        func defaults() throws {
            let c = try HubConfig.parse(Self.base, path: "/etc/waystation/hub.toml")
            #expect(c.timeZone == "Asia/Shanghai")
            #expect(c.certificate == "/etc/waystation/hub.pem")
            #expect(c.riderKey == "/var/lib/waystation-district/rider.key")
            #expect(c.web.port == 8443)
            #expect(c.lookupsPerHour == 1000)
            #expect(c.sync == nil)
        }

        @Test("the packaged example examples/hub.toml loads, with its categories")
        func packagedExample() throws {
            let c = try HubConfig.load(Open311Tests.repo + "/examples/hub.toml")
            #expect(!c.categories.isEmpty)
            #expect(c.timeZone == "Asia/Shanghai")
        }

        @Test(
            "bad input names the key",
            arguments: [
                ("[district]\nid = \"hanyang\"\ntime_zone = \"Mars/Base\"", "[district] time_zone"),
                ("[database]\nurl = \"mysql://x@y/z\"", "[database] url"),
                ("[web]\nlisten = \"8443\"", "[web] listen"),
                ("[sync]\nlisten = \"127.0.0.1:99999\"", "[sync] listen"),
                ("[[category]]\nid = \"pothole\"\nname = \"P\"\npoints = -1", "[category #1] points"),
                ("[limits]\nlookups_per_hour = 0", "[limits] lookups_per_hour"),
                ("[web]\nlisten = \"127.0.0.1:1\"\nport = 3", "[web] port"),
            ])
        func badInput(_ change: String, _ key: String) throws {
            // Replace the table the change is about (or add it).
            let table = String(change.split(separator: "\n")[0])
            var lines = Self.base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if let start = lines.firstIndex(of: table) {
                var end = start + 1
                while end < lines.count, !lines[end].hasPrefix("[") { end += 1 }
                lines.removeSubrange(start..<end)
            }
            let text = lines.joined(separator: "\n") + "\n" + change + "\n"
            do {
                _ = try HubConfig.parse(text, path: "hub.toml")
                Issue.record("accepted: \(change)")
            } catch {
                #expect(error.key == key, "\(error)")
                #expect(error.description.hasPrefix("hub.toml: "))
            }
        }
    }
}
