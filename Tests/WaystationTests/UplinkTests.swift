import Foundation
import TestSupport
import Testing
import WaystationControl
import WaystationCore
import WaystationStorage
import WaystationUplink

/// waystation-uplink: the daemon hands its webhook and Alertmanager notifications over the control
/// socket; the uplink sends them over http or https (a CA of the target's, a client certificate),
/// real receivers on loopback (Python's ssl, the real Alertmanager), certificates made by openssl.
@Suite("waystation-uplink (real daemon, uplink, TLS receivers)", .serialized)
struct UplinkTests {
    /// A throwaway CA, a server certificate for 127.0.0.1 signed by it, a client certificate
    /// (CN station-test) signed by it, and a second CA that signed neither.
    struct Certificates {
        let dir: String
        var ca: String { dir + "/ca.pem" }
        var otherCA: String { dir + "/other-ca.pem" }
        var server: (cert: String, key: String) { (dir + "/server.pem", dir + "/server.key") }
        var client: (cert: String, key: String) { (dir + "/client.pem", dir + "/client.key") }

        init(in dir: String) async throws {
            self.dir = dir
            func openssl(_ args: [String]) async throws {
                let (status, out) = try await Spawned.run("/usr/bin/openssl", args)
                guard status == 0 else { throw TestSupportError("openssl \(args.joined(separator: " ")): \(out)") }
            }
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            for name in ["ca", "other-ca"] {
                try await openssl(
                    ["req", "-x509"] + ec + [
                        "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem", "-days", "2", "-subj",
                        "/CN=Waystation test \(name)",
                    ])
            }
            for (name, cn, ext) in [
                ("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                ("client", "station-test", "extendedKeyUsage=clientAuth\n"),
            ] {
                try ext.write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
                try await openssl(
                    ["req"] + ec + [
                        "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", "/CN=\(cn)",
                    ])
                try await openssl([
                    "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                    "-CAcreateserial", "-out", "\(dir)/\(name).pem", "-days", "2", "-extfile", "\(dir)/\(name).ext",
                ])
            }
        }
    }

    /// An https receiver (Python's ssl) that requires a client certificate signed by `ca`; it
    /// records each POST (path, idempotency key, the client certificate's CN, body) and answers 200.
    final class TLSReceiver: @unchecked Sendable {
        // @unchecked: set once in init.
        let process: Spawned
        let port: Int
        let log: String

        static let script = """
            import http.server, json, ssl, sys
            port_file, log, cert, key, ca = sys.argv[1:]
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    peer = self.connection.getpeercert() or {}
                    cn = [v for rdn in peer.get("subject", ()) for (k, v) in rdn if k == "commonName"]
                    with open(log, "a") as f:
                        f.write(json.dumps({"path": self.path, "key": self.headers.get("Idempotency-Key"),
                                            "client": cn[0] if cn else None, "body": body.decode()}) + "\\n")
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                def log_message(self, *a):
                    pass
            srv = http.server.HTTPServer(("127.0.0.1", 0), H)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.load_verify_locations(ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
            open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
            import os; os.rename(port_file + ".tmp", port_file)
            srv.serve_forever()
            """

        init(_ certs: Certificates) async throws {
            let dir = certs.dir
            log = dir + "/received.jsonl"
            try Self.script.write(toFile: dir + "/receiver.py", atomically: true, encoding: .utf8)
            process = try Spawned(
                "/usr/bin/python3",
                [dir + "/receiver.py", dir + "/port", log, certs.server.cert, certs.server.key, certs.ca],
                output: dir + "/receiver.out")
            try await waitUntil("the receiver listens") { FileManager.default.fileExists(atPath: dir + "/port") }
            port = Int(try String(contentsOfFile: dir + "/port", encoding: .utf8)) ?? 0
        }

        deinit {
            process.signal(SIGKILL)
            _ = process.wait(timeout: .seconds(5))
        }

        var requests: [JSON] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                JSON.parse(Array($0.utf8))
            }
        }
    }

    static func tempDir(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "ws-\(name)-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// outbox rows: (attempts, delivered, failed), oldest first.
    func outbox(_ r: StationRun) throws -> [(attempts: Int, delivered: Bool, failed: Bool)] {
        try outbox(r.station.dir)
    }

    func outbox(_ dir: String) throws -> [(attempts: Int, delivered: Bool, failed: Bool)] {
        let db = try openDatabase(dir + "/station.db")
        return try db.readNow { db in
            try Row.fetchAll(db, sql: "SELECT attempts, delivered, failed FROM outbox ORDER BY id").map {
                try ($0["attempts"], ($0["delivered"] as Int64?) != nil, ($0["failed"] as Int64?) != nil)
            }
        }
    }

    @Test("https with a client certificate: the receiver that requires one gets the alert, with its idempotency key")
    func httpsClientCertificate() async throws {
        let certs = try await Certificates(in: try Self.tempDir("tls"))
        let receiver = try await TLSReceiver(certs)
        let r = try await NotifyFaultTests.run(
            """
            [[notify]]
            kind = "webhook"
            name = "district"
            url = "https://127.0.0.1:\(receiver.port)/hook"
            ca = "\(certs.ca)"
            certificate = "\(certs.client.cert)"
            key = "\(certs.client.key)"

            """)
        #expect(r.daemon.uplink?.isRunning == true, "the harness starts waystation-uplink for an https target")
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("delivered over https") { !receiver.requests.isEmpty }
        let got = try #require(receiver.requests.first)
        #expect(got["client"]?.string == "station-test")
        #expect(got["path"]?.string == "/hook")
        #expect(got["key"]?.string?.hasPrefix("test-") == true)
        #expect(JSON.parse(Array((got["body"]?.string ?? "").utf8))?["status"]?.string == "firing")
        try await r.daemon.waitFor("marked delivered") { try outbox(r).first?.delivered == true }
    }

    @Test("a receiver whose certificate the target's CA did not sign is refused and retried, never dropped")
    func wrongCA() async throws {
        let certs = try await Certificates(in: try Self.tempDir("tls"))
        let receiver = try await TLSReceiver(certs)
        let target = { (ca: String) in
            """
            [[notify]]
            kind = "webhook"
            name = "district"
            url = "https://127.0.0.1:\(receiver.port)/hook"
            ca = "\(ca)"
            certificate = "\(certs.client.cert)"
            key = "\(certs.client.key)"

            """
        }
        let r = try await NotifyFaultTests.run(target(certs.otherCA))
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("refused twice, kept for retry") {
            try outbox(r).first.map { $0.attempts >= 2 && !$0.delivered && !$0.failed } ?? false
        }
        #expect(receiver.requests.isEmpty)
        #expect(r.daemon.log.contains("notification delivery failed; will retry"))
        // The right CA: the same notification goes through (the uplink sees the changed file).
        let config = try String(contentsOfFile: r.station.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: certs.otherCA, with: certs.ca).write(
            toFile: r.station.configPath, atomically: true, encoding: .utf8)
        r.daemon.signal(SIGHUP)
        try await r.daemon.waitFor("delivered once the CA is right") { receiver.requests.count == 1 }
        try await r.daemon.waitFor("marked delivered") { try outbox(r).first?.delivered == true }
    }

    @Test(
        "the uplink killed mid-delivery: the notification goes again with the same key; the daemon held no connection")
    func uplinkKilledMidDelivery() async throws {
        let receiver = try WebhookReceiver()
        receiver.setHolding(true)
        let r = try await NotifyFaultTests.run(webhook: receiver)
        try await r.daemon.waitFor("the receiver has it, unanswered") { receiver.requests.count == 1 }
        // The open connection to the receiver is the uplink's, not the daemon's.
        let holders = try Self.connectionHolders(port: receiver.port)
        let uplink = try #require(r.daemon.uplink)
        #expect(holders.contains(uplink.pid), "\(holders)")
        #expect(!holders.contains(r.daemon.process.pid), "the daemon has a connection to the receiver")
        r.daemon.killUplink()
        receiver.setHolding(false)
        try r.daemon.startUplink()
        try await r.daemon.waitFor("sent again by the new uplink") { receiver.requests.count >= 2 }
        try await r.daemon.waitFor("marked delivered") { try outbox(r).first?.delivered == true }
        let keys = receiver.requests.map { $0.headers["idempotency-key"] ?? "" }
        #expect(keys[0] == keys[1] && !keys[0].isEmpty)
        #expect(receiver.requests[0].body == receiver.requests[1].body)
    }

    @Test("the uplink outlives a daemon restart: notifications queued meanwhile go out in order")
    func daemonRestart() async throws {
        let receiver = try WebhookReceiver()
        receiver.setRefusing(true)
        let r = try await NotifyFaultTests.run(webhook: receiver)
        try await r.daemon.waitFor("firing queued, receiver down") { try outbox(r).first?.attempts ?? 0 >= 1 }
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 0)
        try await r.daemon.waitFor("resolution queued") { try outbox(r).count == 2 }
        let uplink = try #require(r.daemon.uplink)
        r.daemon.signal(SIGTERM)
        _ = try await r.daemon.waitForExit()
        let next = try DaemonProcess(config: r.station.configPath, dir: r.station.dir, uplink: false)
        try await next.waitFor("READY=1") { next.count("READY=1") >= 1 }
        receiver.setRefusing(false)
        try await next.waitFor("both delivered by the same uplink") { receiver.requests.count >= 2 }
        #expect(uplink.isRunning)
        let statuses = receiver.requests.compactMap { JSON.parse($0.body)?["status"]?.string }
        #expect(statuses == ["firing", "resolved"])
        uplink.signal(SIGKILL)
        _ = uplink.wait(timeout: .seconds(10))
    }

    @Test("SIGTERM stops the uplink within a few seconds, even with a delivery in progress")
    func stopsPromptly() async throws {
        let receiver = try WebhookReceiver()
        receiver.setHolding(true)
        let r = try await NotifyFaultTests.run(webhook: receiver)
        try await r.daemon.waitFor("the receiver has it, unanswered") { receiver.requests.count == 1 }
        let uplink = try #require(r.daemon.uplink)
        uplink.signal(SIGTERM)
        try await waitUntil("the uplink exits", within: .seconds(5)) { !uplink.isRunning }
        #expect(uplink.terminationStatus == 0)
    }

    @Test("real Alertmanager requiring a client certificate (--web.config.file) receives the firing alert")
    func alertmanagerTLS() async throws {
        let dir = try Self.tempDir("am")
        let certs = try await Certificates(in: dir)
        let port = try LoopbackPort.free()
        try "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n".write(
            toFile: dir + "/am.yml", atomically: true, encoding: .utf8)
        try """
        tls_server_config:
          cert_file: \(certs.server.cert)
          key_file: \(certs.server.key)
          client_ca_file: \(certs.ca)
          client_auth_type: RequireAndVerifyClientCert

        """.write(toFile: dir + "/web.yml", atomically: true, encoding: .utf8)
        let am = try Spawned(
            "/usr/bin/prometheus-alertmanager",
            [
                "--config.file=\(dir)/am.yml", "--web.config.file=\(dir)/web.yml", "--storage.path=\(dir)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ], output: dir + "/am.log")
        defer {
            am.signal(SIGKILL)
            _ = am.wait(timeout: .seconds(10))
        }
        let base = "https://127.0.0.1:\(port)"
        let withCert = ["-s", "--cacert", certs.ca, "--cert", certs.client.cert, "--key", certs.client.key]
        try await waitUntil("Alertmanager ready") {
            try await Spawned.run("/usr/bin/curl", withCert + ["-f", base + "/-/ready"]).0 == 0
        }
        // Without a client certificate it refuses: the certificate is really required.
        #expect(try await Spawned.run("/usr/bin/curl", ["-s", "-f", "--cacert", certs.ca, base + "/-/ready"]).0 != 0)
        let r = try await NotifyFaultTests.run(
            """
            [[notify]]
            kind = "alertmanager"
            name = "am"
            url = "\(base)"
            ca = "\(certs.ca)"
            certificate = "\(certs.client.cert)"
            key = "\(certs.client.key)"

            """)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await waitUntil("the alert in Alertmanager", within: .seconds(30)) {
            let (_, out) = try await Spawned.run("/usr/bin/curl", withCert + [base + "/api/v2/alerts"])
            return JSON.parse(Array(out.utf8))?.array?.contains {
                $0["labels"]?["alertname"]?.string == "FridgeDoorOpen" && $0["status"]?["state"]?.string == "active"
            } == true
        }
        try await r.daemon.waitFor("marked delivered") { try outbox(r).first?.delivered == true }
    }

    @Test("Alertmanager re-sends: the firing alert again every resend_interval, beside the one outbox row")
    func alertmanagerResends() async throws {
        let receiver = try WebhookReceiver()
        let r = try await NotifyFaultTests.run(
            """
            [[notify]]
            kind = "alertmanager"
            name = "am"
            url = "http://127.0.0.1:\(receiver.port)"
            resend_interval = "1s"

            """)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("the alert and two re-sends") { receiver.requests.count >= 3 }
        #expect(receiver.requests.allSatisfy { $0.path == "/api/v2/alerts" })
        let names = receiver.requests.compactMap {
            JSON.parse($0.body)?.array?.first?["labels"]?["alertname"]?.string
        }
        #expect(Set(names) == ["FridgeDoorOpen"], "\(names)")
        // The first went through the outbox (with its key); re-sends are not rows and carry none.
        #expect(receiver.requests.first?.headers["idempotency-key"]?.hasPrefix("test-") == true)
        #expect(receiver.requests.dropFirst().allSatisfy { $0.headers["idempotency-key"] == nil })
        #expect(try outbox(r).count == 1)
    }

    @Test("[[notify]] ca, certificate and key: checked at load, with errors naming the target and the key")
    func tlsConfigErrors() throws {
        let base = """
            [station]
            id = "t"
            name = "T"
            capacity = 4
            [storage]
            path = "/tmp/ws-never/station.db"
            [control]
            socket = "/tmp/ws-never/control.sock"

            """
        func errors(_ notify: String) -> String {
            do {
                _ = try UplinkConfig.from(
                    StationConfigLoader.load(text: base + notify, path: "/tmp/uplink-test.toml"))
                return ""
            } catch {
                return "\(error)"
            }
        }
        let http = errors("[[notify]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"http://h/x\"\nca = \"/x.pem\"\n")
        #expect(http.contains("https:// URLs only"), "\(http)")
        let half = errors(
            "[[notify]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"https://h/x\"\ncertificate = \"/c.pem\"\n")
        #expect(half.contains("key") && half.contains("both certificate and key"), "\(half)")
        let missing = errors(
            "[[notify]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"https://h/x\"\nca = \"/nonexistent/ca.pem\"\n")
        #expect(missing.contains("\"w\"") && missing.contains("ca: cannot read /nonexistent/ca.pem"), "\(missing)")
        let junk = NSTemporaryDirectory() + "ws-not-pem-\(getpid()).pem"
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        defer { unlink(junk) }
        let notPEM = errors("[[notify]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"https://h/x\"\nca = \"\(junk)\"\n")
        #expect(notPEM.contains("ca: \(junk) is not a PEM certificate"), "\(notPEM)")
        let exec = errors("[[notify]]\nkind = \"exec\"\nname = \"e\"\ncommand = [\"/bin/true\"]\nkey = \"/k.pem\"\n")
        #expect(exec.contains("webhook and alertmanager targets only"), "\(exec)")
    }

    @Test("waystation-uplink as an unprivileged member of uplink_group delivers; outside it, it is refused")
    func unprivilegedUplink() async throws {
        let group = "wstest-uplink-\(getpid())"
        _ = try await Spawned.run("/usr/sbin/groupadd", ["-f", group])
        defer { Task { _ = try? await Spawned.run("/usr/sbin/groupdel", [group]) } }
        let gid = try #require(getgrnam(group)?.pointee.gr_gid)
        let receiver = try WebhookReceiver()
        let station = try TestStation(
            tcpUnits: [1], extraConfig: DrillTests.alerting(url: "http://127.0.0.1:\(receiver.port)/h", timeout: "5s"),
            control: "uplink_group = \"\(group)\"\n")
        let daemon = try DaemonProcess(config: station.configPath, dir: station.dir, uplink: false)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        chmod(station.dir + "/control.sock", 0o666)  // as the socket's group would let it connect
        // A reader (no group) is refused the notifications, told which group it needs.
        let (_, refused) = try await ControlPlaneTests.asNobody(
            ControlPlaneTests.pyCall + """
                print(json.dumps(call("\(station.dir)/control.sock", "NotificationsPending", {})))
                """)
        #expect(refused.contains("PermissionDenied") && refused.contains("group \(group)"), "\(refused)")
        // In the group it may take them, and nothing of the kiosk's.
        let (_, kiosk) = try await ControlPlaneTests.asNobody(
            ControlPlaneTests.pyCall + """
                print(json.dumps(call("\(station.dir)/control.sock", "CheckIn", {"worker": "X1", "category": "courier"})))
                """, groups: [gid])
        #expect(kiosk.contains("PermissionDenied"), "\(kiosk)")
        let uplink = try Spawned(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--groups", "\(gid)", DaemonProcess.binDir + "/waystation-uplink",
                "--config", station.configPath,
            ], output: station.dir + "/uplink-nobody.log")
        defer {
            uplink.signal(SIGKILL)
            _ = uplink.wait(timeout: .seconds(10))
        }
        try await daemon.waitFor("delivered by the unprivileged uplink") { !receiver.requests.isEmpty }
        try await daemon.waitFor("marked delivered") { try outbox(station.dir).first?.delivered == true }
    }

    @Test("role uplink: from its group; it may take notifications, not check riders in; admin may do both")
    func uplinkRole() throws {
        let policy = RolePolicy(adminGroup: nil, kioskGroup: nil, uplinkGroup: "root")
        #expect(policy.role(uid: 1000, gid: 0, groups: []) == .uplink)
        #expect(policy.role(uid: 1000, gid: 1000, groups: []) == .reader)
        #expect(Role.uplink.allows(.uplink) && Role.uplink.allows(.reader))
        #expect(!Role.uplink.allows(.kiosk) && !Role.uplink.allows(.admin))
        #expect(!Role.kiosk.allows(.uplink) && !Role.reader.allows(.uplink))
        #expect(Role.admin.allows(.uplink))
        #expect(policy.requirement(.uplink).contains("group root"))
    }

    /// The pids holding an established TCP connection to 127.0.0.1:`port`.
    static func connectionHolders(port: Int) throws -> Set<Int32> {
        let hexPort = String(format: "%04X", port)
        var inodes = Set<String>()
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: a /proc file reports size 0, and a sized read stops at its first page.
            let text = String(
                decoding: FileHandle(forReadingAtPath: file)?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count > 9, f[2].hasSuffix(":" + hexPort), f[3] == "01" else { continue }
                inodes.insert(String(f[9]))
            }
        }
        var holders = Set<Int32>()
        for pidText in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(pidText) else { continue }
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            for fd in fds {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? ""
                if target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast())) {
                    holders.insert(pid)
                }
            }
        }
        return holders
    }
}
