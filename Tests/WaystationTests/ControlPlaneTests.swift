import Foundation
import TestSupport
import Testing
import WaystationCore

/// Nobody can stall the daemon through its control socket: tried as a hostile local user would,
/// against the real daemon. Other uids are made with `setpriv`; their connections are held by a
/// small Python program (a real process of that uid).
@Suite("Control plane under abuse (real daemon)", .serialized)
struct ControlPlaneTests {
    static func run(extra: String = "", idle: String = "2s") async throws -> StationRun {
        let station = try TestStation(tcpUnits: [1], control: "idle_timeout = \"\(idle)\"\n" + extra)
        let r = try await StationRun(station, waitForOnline: ["t1"])
        chmod(r.socket, 0o666)  // let other uids connect at all (as members of the socket's group would)
        return r
    }

    /// Runs Python as uid/gid 65534 (nobody), with optional supplementary groups.
    static func asNobody(_ script: String, groups: [UInt32] = [], timeout: Duration = .seconds(60)) async throws
        -> (Int32, String)
    {
        let groupArgs =
            groups.isEmpty ? ["--clear-groups"] : ["--groups", groups.map(String.init).joined(separator: ",")]
        return try await Spawned.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534"] + groupArgs + ["/usr/bin/python3", "-c", script],
            timeout: timeout)
    }

    static let pyCall = """
        import json, socket, sys
        def call(path, method, params=None, timeout=10):
            s = socket.socket(socket.AF_UNIX); s.settimeout(timeout); s.connect(path)
            s.sendall(json.dumps({"method": "io.waystation.Station." + method, "parameters": params or {}}).encode() + b"\\0")
            buf = b""
            while not buf.endswith(b"\\0"):
                chunk = s.recv(65536)
                if not chunk: break
                buf += chunk
            s.close()
            return json.loads(buf[:-1]) if buf else None

        """

    @Test("a client that sends and never reads is dropped; polling, the watchdog and other clients go on")
    func neverReads() async throws {
        let r = try await Self.run(idle: "10m")  // only the output cap may drop it here
        let pings = r.daemon.count("WATCHDOG=1")
        // Pipelined GetDevice calls, never reading the replies (each reply is a few KB).
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        _ = try UnixSocketAddress.with(r.socket) { connect(fd, $0, $1) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let message = VarlinkCall(method: "\(StationRun.iface).GetDevice", parameters: ["id": "t1"]).frame
        var flags = fcntl(fd, F_GETFL)
        flags |= O_NONBLOCK
        _ = fcntl(fd, F_SETFL, flags)
        // Keep sending (waiting when the socket is full) until 10,000 calls are out or the daemon has
        // hung up on us: replies pile up unread on the daemon's side.
        var sent = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while sent < 20_000, ContinuousClock.now < deadline {
            let n = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += 1
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try await Task.sleep(for: .milliseconds(5))
            } else {
                break
            }
        }
        #expect(sent > 1000)
        // The daemon goes on: polling advances, the watchdog is pinged, other clients are answered.
        try await r.waitForPolls("t1", cycles: 3)
        for _ in 0..<20 { #expect(try r.call("GetStatus")["station"] != nil) }
        try await r.daemon.waitFor("watchdog pinged") { r.daemon.count("WATCHDOG=1") > pings }
        // And the greedy client was dropped for not reading (its socket reads end-of-file eventually).
        try await r.daemon.waitFor("the non-reading client dropped") {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n == 0 { return true }
                if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
            }
        }
        #expect(r.daemon.log.contains("not reading its replies"))
    }

    @Test("another local user holding hundreds of sockets cannot lock the kiosk or admins out")
    func connectionFlood() async throws {
        let r = try await Self.run()
        let script =
            Self.pyCall + """
                import time
                held, refused = [], 0
                for i in range(300):
                    s = socket.socket(socket.AF_UNIX); s.settimeout(5)
                    try:
                        s.connect(sys.argv[1] if len(sys.argv) > 1 else "\(r.socket)")
                        s.sendall(b"")
                        held.append(s)
                    except OSError:
                        refused += 1
                time.sleep(0.5)
                alive = 0
                for s in held:
                    try:
                        s.setblocking(False)
                        d = s.recv(4096)
                        if d: pass
                        else: continue
                    except BlockingIOError:
                        alive += 1
                    except OSError:
                        pass
                print(json.dumps({"opened": len(held), "refused": refused, "alive": alive}))
                sys.stdout.flush()
                time.sleep(4)
                """
        let holder = Task { try await Self.asNobody(script, timeout: .seconds(30)) }
        // While nobody holds its sockets, root (admin) is still served, every time.
        try await Task.sleep(for: .milliseconds(800))  // measurement window: the holder connects
        for _ in 0..<20 { #expect(try r.call("GetStatus")["station"] != nil) }
        let (status, output) = try await holder.value
        #expect(status == 0, "\(output)")
        let figures = try #require(JSON.parse(Data((output.split(separator: "\n").last.map(String.init) ?? "").utf8)))
        // Per-uid cap: at most 32 of nobody's connections stay open.
        #expect((figures["alive"]?.number ?? 999) <= 32, "\(output)")
    }

    @Test("idle connections and a byte-a-second client are closed; big messages from non-admins refused")
    func idleAndLimits() async throws {
        let r = try await Self.run()
        let script =
            Self.pyCall + """
                import time
                out = {}
                s = socket.socket(socket.AF_UNIX); s.connect("\(r.socket)"); s.settimeout(8)
                t0 = time.time()
                try:
                    out["idle_closed"] = s.recv(10) == b""
                except socket.timeout:
                    out["idle_closed"] = False
                out["idle_seconds"] = round(time.time() - t0, 1)
                # Slowloris: a byte every 0.3 s, never a whole message.
                s = socket.socket(socket.AF_UNIX); s.connect("\(r.socket)")
                closed = False
                for i in range(40):
                    try:
                        s.send(b"{")
                    except OSError:
                        closed = True; break
                    time.sleep(0.3)
                out["slow_closed"] = closed
                # 100 KB message from a non-admin: refused.
                s = socket.socket(socket.AF_UNIX); s.connect("\(r.socket)"); s.settimeout(8)
                try:
                    s.sendall(b'{"method":"io.waystation.Station.GetStatus","parameters":{"x":"' + b"a" * 100000 + b'"}}\\0')
                except OSError:
                    pass
                buf = b""
                try:
                    while not buf.endswith(b"\\0"):
                        c = s.recv(65536)
                        if not c: break
                        buf += c
                except OSError:
                    pass
                out["big"] = buf[:-1].decode(errors="replace") if buf else ""
                # A reader may read but not check riders in.
                out["status"] = call("\(r.socket)", "GetStatus")["parameters"]["station"]["id"]
                out["checkin"] = call("\(r.socket)", "CheckIn", {"worker": "123", "category": "courier"}).get("error")
                print(json.dumps(out))
                """
        let (status, output) = try await Self.asNobody(script)
        #expect(status == 0, "\(output)")
        let o = try #require(
            JSON.parse(Data((output.split(separator: "\n").last.map(String.init) ?? "").utf8)), "\(output)")
        #expect(o["idle_closed"]?.bool == true, "\(output)")
        #expect(o["slow_closed"]?.bool == true, "\(output)")
        #expect(o["big"]?.string?.contains("larger than 65536") == true, "\(output)")
        #expect(o["status"]?.string == "test")
        #expect(o["checkin"]?.string == "\(StationRun.iface).PermissionDenied", "\(output)")
        // Root (admin) still sends big messages.
        #expect(try r.call("GetStatus", ["pad": .string(String(repeating: "a", count: 200_000))])["station"] != nil)
    }

    @Test("a kiosk (by group) checks riders in and out, sees no pseudonym, and may not list visits")
    func kioskRole() async throws {
        let group = "wstest-kiosk-\(getpid())"
        _ = try await Spawned.run("/usr/sbin/groupadd", ["-f", group])
        defer { Task { _ = try? await Spawned.run("/usr/sbin/groupdel", [group]) } }
        let gid = try #require(getgrnam(group)?.pointee.gr_gid)
        let r = try await Self.run(extra: "kiosk_group = \"\(group)\"\n")
        let script =
            Self.pyCall + """
                out = {}
                r = call("\(r.socket)", "CheckIn", {"worker": "13900001111", "category": "courier"})
                out["checkin"] = r
                out["checkout"] = call("\(r.socket)", "CheckOut", {"worker": "13900001111"})
                out["again"] = call("\(r.socket)", "CheckOut", {"worker": "13900001111"})
                out["list"] = call("\(r.socket)", "ListVisits").get("error")
                out["audit"] = call("\(r.socket)", "ListAudit").get("error")
                print(json.dumps(out))
                """
        let (status, output) = try await Self.asNobody(script, groups: [gid])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\"occupancy\": 1"), "\(output)")
        #expect(output.contains("NotCheckedIn"), "\(output)")
        #expect(output.contains("\"list\": \"\(StationRun.iface).PermissionDenied\""), "\(output)")
        #expect(output.contains("\"audit\": \"\(StationRun.iface).PermissionDenied\""), "\(output)")
        // The pseudonym (what ListVisits shows an admin) appears nowhere in the kiosk's replies.
        let pseudonym = try #require(r.call("ListVisits")["visits"]?.array?.first?["worker"]?.string)
        #expect(pseudonym.count == 64)
        #expect(!output.contains(pseudonym))
        #expect(!output.contains("13900001111\""), "the raw id is never echoed")
    }

    @Test("paging and bounds: limit and cursor; over-long or control-character text and absurd durations refused")
    func boundsAndPaging() async throws {
        let r = try await Self.run()
        for i in 0..<7 { _ = try r.call("CheckIn", ["worker": .string("CARD-\(i)"), "category": "courier"]) }
        let page1 = try r.call("ListVisits", ["limit": 3])
        #expect(page1["visits"]?.array?.count == 3)
        let next = try #require(page1["next"]?.string)
        let page2 = try r.call("ListVisits", ["limit": 3, "cursor": .string(next)])
        #expect(page2["visits"]?.array?.first?["id"]?.number == 4)
        #expect(r.error("ListVisits", ["limit": 0])?.0 == "org.varlink.service.InvalidParameter")
        #expect(
            r.error("Silence", ["matchers": ["device": "t1"], "duration": "1e300s"])?.0
                == "org.varlink.service.InvalidParameter")
        #expect(
            r.error("CheckIn", ["worker": "X", "category": "courier", "source": "a\u{1B}[31mb"])?.1["parameter"]?.string
                == "source")
        #expect(
            r.error(
                "SetMaintenance",
                ["device": "t1", "enabled": true, "reason": .string(String(repeating: "x", count: 300))])?
                .1["parameter"]?.string == "reason")
        #expect(r.error("CheckIn", ["worker": "x\ny", "category": "courier"])?.1["parameter"]?.string == "worker")
        #expect(r.daemon.process.isRunning)
    }

    @Test("config numbers: nan, inf and absurd durations are refused at start with the key named")
    func configNumbers() async throws {
        for (bad, key) in [
            ("[polling]\noffline_after = \"1e300s\"\n", "offline_after"),
            ("[[alert]]\nname = \"X\"\nwhen = \"u16 > 1\"\nfor = \"nan s\"\n", "for"),
        ] {
            let station = try TestStation(tcpUnits: [1])
            let path = station.dir + "/bad.toml"
            try (try String(contentsOfFile: station.configPath, encoding: .utf8) + bad)
                .write(toFile: path, atomically: true, encoding: .utf8)
            let (status, output) = try await Spawned.run(
                DaemonProcess.binDir + "/waystationd", ["--check-config", "--config", path])
            #expect(status == 78 && output.contains("'\(key)'"), "\(bad): \(output)")
        }
    }
}
