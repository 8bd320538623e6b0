import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationPolling

/// Issue 15's budget, what of it can be asserted without wall-clock figures, on the real daemon:
/// memory that comes back after reloads and after control-socket clients, and no history rows for
/// a steady value between heartbeats. Memory is counted as what it costs (issue 21): anonymous
/// memory (heap, stacks) and PSS, from /proc/PID/smaps_rollup, not RSS (which counts every clean
/// page of the binary and the libraries whole). The figures themselves (anonymous, PSS, CPU,
/// bytes/day beside collectd) are `make bench`'s; the last test runs that bench in its quick mode.
@Suite("Embedded budget (issue 15)", .serialized)
struct BudgetTests {
    static let iface = "io.waystation.Station"
    /// Warm-up rounds before the baseline: first-use allocations (caches, arenas, lazily loaded
    /// code) are not leaks.
    static let warmUpRounds = 20
    static let rounds = 1000
    /// The issue's bound: "returns to baseline ±1 MiB". An absolute bound rather than a ratio: a
    /// ratio of a 35 MiB daemon (1.10× = 3.5 MiB) would let a 3 KB-per-reload leak through, and the
    /// bound must keep its meaning as the lead brings the baseline down towards 16 MiB.
    static let allowedGrowthKiB: Int64 = 1024

    /// A daemon polling one simulated device, with its control socket up and the device online.
    static func startDaemon(_ station: TestStation, watchdogUsec: Int = 1_000_000) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(config: station.configPath, dir: station.dir, watchdogUsec: watchdogUsec)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        let socket = station.dir + "/control.sock"
        try await waitUntil("t1 online") {
            try await offPool {
                let status = try VarlinkClient(path: socket).call("\(iface).GetStatus")
                return status["devices"]?.array?.allSatisfy { $0["state"]?.string == "online" } == true
            }
        }
        return daemon
    }

    /// The memory of a process after a moment to settle (a poll cycle in flight is not growth).
    static func settledMemory(_ pid: pid_t) async throws -> ProcessMemory {
        try await Task.sleep(for: .milliseconds(1500))
        return try #require(ProcessMemory.of(pid), "no /proc/\(pid)/smaps_rollup")
    }

    /// Sends SIGHUP and waits for the reload's READY=1, `count` times in a row.
    static func reload(_ daemon: DaemonProcess, times count: Int) async throws {
        for _ in 0..<count {
            let ready = daemon.count("READY=1")
            daemon.signal(SIGHUP)
            let deadline = ContinuousClock.now + .seconds(20)
            while daemon.count("READY=1") == ready {
                guard ContinuousClock.now < deadline else {
                    throw TestSupportError("no READY=1 after SIGHUP; daemon log:\n\(daemon.log.suffix(3000))")
                }
                try await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    /// `count` control-socket connections in a row, each one GetStatus; on a thread of its own,
    /// since the client blocks.
    static func connect(_ socket: String, times count: Int) async throws {
        try await offPool {
            for _ in 0..<count {
                let status = try VarlinkClient(path: socket, timeout: 20).call("\(iface).GetStatus")
                guard status["station"] != nil else { throw TestSupportError("GetStatus without station") }
            }
        }
    }

    /// Runs blocking work (the varlink client waits on its socket) on a thread of its own.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    static func report(_ what: String, baseline: ProcessMemory, final: ProcessMemory, rounds: Int = rounds) {
        let growth = final.anonymousKiB - baseline.anonymousKiB
        print(
            "budget: \(what): baseline \(baseline.summary); after \(rounds): \(final.summary); anonymous growth "
                + "\(growth) KiB (\(String(format: "%.1f", Double(growth) * 1024 / Double(rounds))) bytes each), PSS "
                + "growth \(final.pssKiB - baseline.pssKiB) KiB")
    }

    /// The ±1 MiB bound on both figures that count: anonymous memory, and PSS less its share of
    /// file pages (`Pss_File`), which moves whenever another process mapping the same binary or
    /// libraries starts or exits (other tests' daemons): the daemon's own part of its PSS.
    static func expectReturned(_ what: String, baseline: ProcessMemory, final: ProcessMemory) {
        #expect(
            final.anonymousKiB - baseline.anonymousKiB <= allowedGrowthKiB,
            "anonymous \(baseline.anonymousKiB) KiB → \(final.anonymousKiB) KiB after \(what)")
        #expect(
            final.ownPssKiB - baseline.ownPssKiB <= allowedGrowthKiB,
            "PSS less file pages \(baseline.ownPssKiB) KiB → \(final.ownPssKiB) KiB after \(what)")
    }

    @Test("anonymous memory and PSS return to their baseline (±1 MiB) after 1,000 reloads (SIGHUP)")
    func memoryAfterReloads() async throws {
        let station = try TestStation(tcpUnits: [1])
        let daemon = try await Self.startDaemon(station)
        try await Self.reload(daemon, times: Self.warmUpRounds)
        let baseline = try await Self.settledMemory(daemon.process.pid)
        try await Self.reload(daemon, times: Self.rounds)
        let final = try await Self.settledMemory(daemon.process.pid)
        Self.report("reloads", baseline: baseline, final: final)
        #expect(daemon.process.isRunning)
        Self.expectReturned("\(Self.rounds) reloads", baseline: baseline, final: final)
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test("anonymous memory and PSS return to their baseline (±1 MiB) after 1,000 control-socket connections")
    func memoryAfterConnections() async throws {
        let station = try TestStation(tcpUnits: [1])
        let daemon = try await Self.startDaemon(station)
        let socket = station.dir + "/control.sock"
        try await Self.connect(socket, times: Self.warmUpRounds)
        let baseline = try await Self.settledMemory(daemon.process.pid)
        try await Self.connect(socket, times: Self.rounds)
        let final = try await Self.settledMemory(daemon.process.pid)
        Self.report("control connections", baseline: baseline, final: final)
        #expect(daemon.process.isRunning)
        Self.expectReturned("\(Self.rounds) connections", baseline: baseline, final: final)
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// `total` control-socket connections, `batch` of them open at once, each calling GetStatus (all
    /// sent before any reply is read, so that the daemon handles a batch together).
    static func flood(_ socket: String, total: Int, batch: Int) async throws {
        try await offPool {
            var done = 0
            while done < total {
                let n = min(batch, total - done)
                var clients: [VarlinkClient] = []
                for _ in 0..<n { clients.append(try VarlinkClient(path: socket, timeout: 30)) }
                for c in clients { try c.send("\(iface).GetStatus") }
                for c in clients {
                    guard try c.receive().error == nil else { throw TestSupportError("GetStatus refused") }
                }
                done += n
            }
        }
    }

    @Test("anonymous memory and PSS return to their baseline (±1 MiB) after 2,000 control connections, 250 at once")
    func memoryAfterConnectionFlood() async throws {
        let station = try TestStation(tcpUnits: [1])
        let daemon = try await Self.startDaemon(station)
        let socket = station.dir + "/control.sock"
        // As on a station: waystation-web's `Watch` stays open through the flood.
        let watcher = try VarlinkClient(path: socket)
        try watcher.send("\(Self.iface).Watch", more: true)
        #expect(try watcher.receive().continues)
        // A warm-up burst: the first one's pool threads, their stacks and first-use caches (~1 MiB,
        // measured) are not growth; what each further burst leaves must be given back.
        try await Self.flood(socket, total: 250, batch: 250)
        let baseline = try await Self.settledMemory(daemon.process.pid)
        try await Self.flood(socket, total: 2000, batch: 250)
        let final = try await Self.settledMemory(daemon.process.pid)
        Self.report("a flood of control connections", baseline: baseline, final: final, rounds: 2000)
        #expect(daemon.process.isRunning)
        Self.expectReturned("2,000 connections, 250 at once", baseline: baseline, final: final)
        withExtendedLifetime(watcher) {}
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test("once running, the daemon's anonymous memory is at most 4 MiB; nothing of its code is released")
    func anonymousBudget() async throws {
        let station = try TestStation(tcpUnits: [1])
        let daemon = try await Self.startDaemon(station)
        // Past start-up and the first polls; then the heap trimmed by a reload, as the daemon does 30 s
        // after READY.
        try await Self.reload(daemon, times: 1)
        let m = try await Self.settledMemory(daemon.process.pid)
        print("budget: waystationd once running: \(m.summary)")
        #expect(m.anonymousKiB <= 4096, "anonymous memory \(m.anonymousKiB) KiB, over the 4 MiB budget")
        // The issue's PSS bound (12 MiB) is for the release build `make bench` measures; a debug
        // binary's text is several times larger, so here the bound is only that PSS is below RSS
        // (shared pages counted by share) and that the code is still mapped in (no release).
        #expect(m.pssKiB < m.rssKiB && m.pssKiB > m.anonymousKiB)
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test("a steady value writes no history rows between heartbeats (default flush, flushed by SIGTERM)")
    func steadyValueWritesNoRows() async throws {
        let station = try TestStation(tcpUnits: [1])
        // As users run it: the default flush_interval (30 s) and heartbeat (15 min), so the rows
        // reach the database through the flush on SIGTERM.
        let config = try String(contentsOfFile: station.configPath, encoding: .utf8)
            .replacingOccurrences(of: "flush_interval = \"0ms\"\n", with: "")
        try config.write(toFile: station.configPath, atomically: true, encoding: .utf8)
        let daemon = try await Self.startDaemon(station)
        // At least 10 poll cycles (1 s each) after the device came online.
        let cycles = 10
        let perCycle = try await Self.requestsPerCycle(station)
        let start = try station.simulator.servedCount(device: "t1")
        try await daemon.waitFor("\(cycles) cycles", within: .seconds(60)) {
            try station.simulator.servedCount(device: "t1") >= start + cycles * perCycle
        }
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)

        let store = HistoryStore(database: try openDatabase(station.dir + "/station.db"))
        // Steady points of the test profile, in every table and type: one row each, the first value.
        var counts: [String: Int] = [:]
        for point in ["u16", "i32", "f32", "h0", "c1", "d0"] {
            counts[point] = try store.valueCount(device: "t1", point: point)
        }
        print("budget: steady points after \(cycles)+ cycles: \(counts.sorted { $0.key < $1.key })")
        for (point, count) in counts {
            #expect(count == 1, "t1.\(point): \(count) rows for a value that never changed")
        }
    }

    /// Voluntary context switches (the times it went to sleep) of each thread of a process, by
    /// thread id, with the thread's name.
    static func sleeps(_ pid: pid_t) throws -> [Int: (name: String, count: Int)] {
        let threads = WakeUps.perThread(pid)
        guard !threads.isEmpty else { throw NoThreads(pid: pid) }
        return threads
    }

    struct NoThreads: Error { var pid: pid_t }

    @Test("a poll wakes the station thread, not Swift's shared pool; an idle control thread does not wake")
    func pollWakeUps() async throws {
        let station = try TestStation(tcpUnits: [1])
        // As users run it: history flushed every 10 minutes, so a poll touches no database. Polled
        // every 100 ms, so that what polls cost stands out from the services' timers.
        let config = try String(contentsOfFile: station.configPath, encoding: .utf8)
            .replacingOccurrences(of: "flush_interval = \"0ms\"\n", with: "flush_interval = \"10m\"\n")
            .replacingOccurrences(of: "interval = \"1s\"\n", with: "interval = \"100ms\"\n")
        try config.write(toFile: station.configPath, atomically: true, encoding: .utf8)
        // And with the unit's WatchdogSec (30 s: a ping every 15 s; the tests' usual 1 s pings twice a
        // second, each asking the pollers and the database through the pool).
        let daemon = try await Self.startDaemon(station, watchdogUsec: 30_000_000)
        // Requests a second (`requestsPerCycle` counts over seconds), and 10 s of polls: 100.
        let perSecond = try await Self.requestsPerCycle(station)
        let pid = daemon.process.pid
        let before = try Self.sleeps(pid)
        let seconds = 10
        let polls = seconds * 10
        let start = try station.simulator.servedCount(device: "t1")
        try await daemon.waitFor("\(polls) polls", within: .seconds(90)) {
            try station.simulator.servedCount(device: "t1") >= start + seconds * perSecond
        }
        let after = try Self.sleeps(pid)
        func woke(_ which: (String) -> Bool) -> Int {
            after.filter { which($0.value.name) }.reduce(0) { $0 + $1.value.count - (before[$1.key]?.count ?? 0) }
        }
        let stationThread = woke { $0 == "station" }
        // libdispatch's worker threads ("com.apple.root.default-qos", the end of it); its manager
        // thread ("…overcommit", timers) wakes once a second in any Swift program and is not counted.
        let pool = woke { $0.hasSuffix("default-qos") }
        let control = woke { $0 == "control-io" }
        let manager = woke { $0.hasSuffix("overcommit") }
        print(
            "budget: over \(polls) polls the station thread slept \(stationThread)×, the pool \(pool)×, control \(control)×, "
                + "libdispatch's manager \(manager)×"
        )
        #expect(
            stationThread >= polls / 2,
            "the station thread takes the polls in: it slept \(stationThread)× in \(polls) polls")
        // With the monitor and the alert service on the pool, these 100 polls made the pool sleep
        // ~110× and the station thread not at all (measured). With the services' timers (the alert
        // stand-in every 5 s, systemd's status every 10 s, …) in `Task.sleep`, the pool still slept
        // 10–12× in these 10 s and libdispatch's manager 16×; kept by the station's thread, which
        // wakes for the polls anyway, the pool sleeps 0× and the manager 10× (its own 1-s timer).
        #expect(pool <= 3, "the pool woke \(pool)× in \(polls) polls")
        #expect(control == 0, "the control thread woke \(control)× with no client")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// Requests one poll cycle of t1 takes: the served count across one cycle once online.
    static func requestsPerCycle(_ station: TestStation) async throws -> Int {
        let a = try station.simulator.servedCount(device: "t1")
        try await Task.sleep(for: .seconds(3))
        let b = try station.simulator.servedCount(device: "t1")
        return max(1, Int((Double(b - a) / 3).rounded()))
    }

    @Test("make bench in its quick mode runs every phase and writes the issue's figures")
    func benchQuickMode() async throws {
        let bench = BuildPaths.binDir + "/waystation-bench"
        try #require(FileManager.default.isExecutableFile(atPath: bench), "build the products: swift build")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-benchq-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = dir + "/bench-results.json"
        var env = ProcessInfo.processInfo.environment
        env["BENCH_QUICK"] = "1"
        env["BENCH_OUTPUT"] = output
        env["BENCH_DIR"] = dir
        env["SWIFT_BACKTRACE"] = "enable=no"
        let (status, text) = try await Spawned.run(bench, [], environment: env, timeout: .seconds(600))
        #expect(status == 0, "waystation-bench:\n\(text)")
        let data = try #require(FileManager.default.contents(atPath: output), "no \(output); bench:\n\(text)")
        let results = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func figure(_ key: String) -> Double? { (results[key] as? Double) ?? (results[key] as? Int).map(Double.init) }
        let memoryKeys = [
            "daemon_anon_mib", "daemon_pss_mib", "web_rss_mib", "web_anon_mib", "web_flood_rss_mib",
            "web_after_flood_rss_mib", "web_after_flood_anon_mib", "daemon_after_control_flood_rss_mib",
            "daemon_after_control_flood_anon_mib",
        ]
        for key in ["daemon_rss_mib", "daemon_hwm_mib", "daemon_requests_per_s", "reads_per_s", "cycles_at_1s"]
            + memoryKeys
        {
            #expect((figure(key) ?? 0) > 0, "\(key) missing or 0; bench:\n\(text)")
        }
        for key in [
            "daemon_cpu_s_per_hour", "daemon_bytes_per_day", "daemon_rss_binary_mib", "daemon_rss_heap_mib",
            "web_wakeups_per_s", "daemon_wakeups_per_s_beside_web",
        ] {
            #expect(figure(key) != nil, "\(key) missing; bench:\n\(text)")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/collectd") {
            for key in [
                "collectd_rss_mib", "collectd_pss_mib", "collectd_anon_mib", "collectd_requests_per_s",
                "daemon_rss_ratio_vs_collectd",
            ] {
                #expect((figure(key) ?? 0) > 0, "\(key) missing or 0; bench:\n\(text)")
            }
            // CPU is counted in clock ticks: a quick window may see none (then no ratio), so only there.
            for key in ["daemon_cpu_us_per_value", "collectd_cpu_us_per_value", "collectd_cpu_us_per_request"] {
                #expect(figure(key) != nil, "\(key) missing; bench:\n\(text)")
            }
        }
        #expect(text.contains("goals (issue 15)"))
    }
}
