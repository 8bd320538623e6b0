import Foundation
import TestSupport
import WaystationCore

/// `waystation-web` beside the daemon on the 3-device station (issues 21 and 25): how often each
/// wakes while idle with two kiosk pages open (two event streams), what each costs in memory, and
/// whether that memory comes back after a connection flood — 1,000 keep-alive HTTP connections to
/// the web face, then 2,000 control connections (250 at once) to the daemon.
struct WebPhase {
    struct Figures {
        var seconds: Double
        /// Voluntary context switches of every thread but libdispatch's manager (which wakes once a
        /// second in any Swift program), and of all threads.
        var webWakeUps: Int
        var webWakeUpsAll: Int
        var daemonWakeUps: Int
        var web: ProcessMemory
        var daemon: ProcessMemory
        var webDuringFlood: ProcessMemory
        var webAfterFlood: ProcessMemory
        var webAnswered: Int
        var daemonAfterFlood: ProcessMemory

        var results: [String: Double] {
            func mib(_ k: Int64) -> Double { Double(k) / 1024 }
            var r: [String: Double] = [:]
            r["web_idle_window_s"] = seconds
            r["web_wakeups_per_s"] = Double(webWakeUps) / max(seconds, 1e-9)
            r["web_wakeups_per_s_all_threads"] = Double(webWakeUpsAll) / max(seconds, 1e-9)
            r["daemon_wakeups_per_s_beside_web"] = Double(daemonWakeUps) / max(seconds, 1e-9)
            for (name, m) in [
                ("web", web), ("web_flood", webDuringFlood), ("web_after_flood", webAfterFlood),
                ("daemon_before_control_flood", daemon), ("daemon_after_control_flood", daemonAfterFlood),
            ] {
                r["\(name)_rss_mib"] = mib(m.rssKiB)
                r["\(name)_pss_mib"] = mib(m.pssKiB)
                r["\(name)_anon_mib"] = mib(m.anonymousKiB)
            }
            r["web_flood_connections_answered"] = Double(webAnswered)
            return r
        }

        var table: String {
            func row(_ title: String, _ m: ProcessMemory) -> String {
                title.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(
                        format: "%8.1f %8.1f %8.1f", Double(m.rssKiB) / 1024, Double(m.pssKiB) / 1024,
                        Double(m.anonymousKiB) / 1024)
            }
            return [
                "\nwaystation-web and waystationd, idle with two kiosk pages open, then flooded (MiB):",
                "".padding(toLength: 44, withPad: " ", startingAt: 0) + "     RSS      PSS     anon",
                row("waystation-web, idle", web),
                row("  with 1,000 keep-alive connections (\(webAnswered) answered)", webDuringFlood),
                row("  after they closed", webAfterFlood),
                row("waystationd, idle beside it", daemon),
                row("  after 2,000 control connections", daemonAfterFlood),
                String(
                    format:
                        "wake-ups while idle (voluntary context switches; libdispatch's manager thread left out): "
                        + "web %.2f/s (%.2f/s with it), daemon %.2f/s",
                    Double(webWakeUps) / max(seconds, 1e-9), Double(webWakeUpsAll) / max(seconds, 1e-9),
                    Double(daemonWakeUps) / max(seconds, 1e-9)),
            ].joined(separator: "\n")
        }
    }

    static func run(binDir: String, station: BenchStation, seconds: Double) async throws -> Figures {
        let port = try LoopbackPort.free()
        let configPath = station.dir + "/station-web.toml"
        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
        try (text + "\n[web]\nlisten = \"127.0.0.1:\(port)\"\n").write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            config: configPath, dir: station.dir, watchdogUsec: 30_000_000,
            environment: ["SWIFT_BACKTRACE": "enable=no"])
        defer {
            daemon.signal(SIGTERM)
            if daemon.process.wait(timeout: .seconds(30)) == nil { daemon.killHard() }
        }
        try await daemon.waitFor("READY=1 from waystationd", within: .seconds(30)) { daemon.count("READY=1") >= 1 }
        let web = try Spawned(
            binDir + "/waystation-web", ["--config", configPath],
            environment: ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 },
            output: station.dir + "/web.log")
        defer {
            web.signal(SIGTERM)
            if web.wait(timeout: .seconds(15)) == nil { web.signal(SIGKILL) }
        }
        let base = "http://127.0.0.1:\(port)"
        try await waitUntil("waystation-web to answer", within: .seconds(30)) {
            let (status, out) = try await Spawned.run("/usr/bin/curl", ["-s", "--max-time", "5", base + "/api/kiosk"])
            return status == 0 && out.contains(#""daemon_ok":true"#)
        }
        // Two kiosk pages: two event streams, each having had its first message.
        var pages: [Spawned] = []
        defer { for p in pages { p.signal(SIGTERM) } }
        for i in 0..<2 {
            let out = station.dir + "/events\(i).txt"
            pages.append(try Spawned("/usr/bin/curl", ["-s", "-N", base + "/api/events"], output: out))
            try await waitUntil("event stream \(i)", within: .seconds(20)) {
                ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("event: kiosk")
            }
        }
        try await Task.sleep(for: .seconds(2))
        let web0 = WakeUps.perThread(web.pid)
        let daemon0 = WakeUps.perThread(daemon.process.pid)
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let web1 = WakeUps.perThread(web.pid)
        let webWake = WakeUps.between(web0, web1, manager: false)
        let webWakeAll = WakeUps.between(web0, web1)
        let daemonWake = WakeUps.between(daemon0, WakeUps.perThread(daemon.process.pid), manager: false)
        let elapsed = (ContinuousClock.now - t0).seconds
        guard let webIdle = ProcessMemory.of(web.pid), let daemonIdle = ProcessMemory.of(daemon.process.pid) else {
            throw BenchError("waystation-web or waystationd exited; web log: \(station.dir)/web.log")
        }

        var flood: (clients: [TCPClient], answered: Int)? = try await onThread {
            try TCPClient.keepAliveFlood(port: port, count: 1000, path: "/api/kiosk", marker: "daemon_ok")
        }
        let answered = flood?.answered ?? 0
        let during = ProcessMemory.of(web.pid) ?? webIdle
        flood = nil
        // Closed (the clients are released); the web face trims its heap a second after the last.
        try await Task.sleep(for: .seconds(4))
        let after = ProcessMemory.of(web.pid) ?? during

        let socket = station.config.control.socket
        try await onThread {
            var done = 0
            while done < 2000 {
                let clients = try (0..<250).map { _ in try VarlinkClient(path: socket, timeout: 30) }
                for c in clients { try c.send("io.waystation.Station.GetStatus") }
                for c in clients { _ = try c.receive() }
                done += clients.count
            }
        }
        try await Task.sleep(for: .seconds(3))
        let daemonAfter = ProcessMemory.of(daemon.process.pid) ?? daemonIdle
        return Figures(
            seconds: elapsed, webWakeUps: webWake, webWakeUpsAll: webWakeAll, daemonWakeUps: daemonWake, web: webIdle,
            daemon: daemonIdle,
            webDuringFlood: during, webAfterFlood: after, webAnswered: answered, daemonAfterFlood: daemonAfter)
    }
}
