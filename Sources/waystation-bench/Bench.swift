import CModbus
import Foundation
import Logging
import WaystationCore
import WaystationModbus
import WaystationPolling
import WaystationSim
import WaystationStorage
import TestSupport

/// `make bench`: polls a simulated station of 20 devices × 30 points (a) as fast as it can and
/// (b) at a 1 s interval with the engine in this process; (c) the alert latency of the real daemon;
/// (d) the real daemon, then collectd's modbus plugin, on the 3-device station of issue 15, and the
/// daemon under callgrind. Prints the figures with the goals and merges them as flat JSON
/// into bench-results.json. Durations come from `BENCH_*` variables (`BenchSettings`);
/// `BENCH_QUICK=1` runs every phase short.
@main
enum Bench {
    static let deviceCount = 20

    static func main() async throws {
        signal(SIGPIPE, SIG_IGN)
        let settings = BenchSettings(environment: ProcessInfo.processInfo.environment)
        let binDir = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
        let output = settings.output
        if settings.quick {
            print("BENCH_QUICK: every phase runs short; the figures are a smoke check, not a measurement")
        }
        if ProcessFigures.isTmpfs(settings.workDir) {
            print("warning: \(settings.workDir) is tmpfs: write_bytes stays 0 there; set BENCH_DIR to a disk directory")
        }

        let dir = settings.workDir + "/ws-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir + "/devices", withIntermediateDirectories: true)
        defer {
            if settings.keep { print("kept \(dir)") } else { try? FileManager.default.removeItem(atPath: dir) }
        }
        var results: [String: Double] = [:]
        if settings.phases.contains("engine") {
            results.merge(try await enginePhases(binDir: binDir, dir: dir, settings: settings)) { _, new in new }
        }
        if settings.phases.contains("alerts"),
            let latency = try await alertLatency(binDir: binDir, dir: dir, rounds: settings.alertRounds)
        {
            results["alert_latency_ms"] = latency.median
            results["alert_latency_ms_max"] = latency.max
        }
        // (d) The real daemon and collectd on the 3-device station; the daemon under callgrind.
        var report: [String] = []
        if settings.phases.contains("station") {
            let threeDevices = try await stationPhases(binDir: binDir, dir: dir + "/station3", settings: settings)
            results.merge(threeDevices.results) { _, new in new }
            report = threeDevices.report
        }

        try merge(results, into: output)
        let width = (results.keys.map(\.count).max() ?? 0) + 1
        for key in results.keys.sorted() {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0), format(results[key] ?? 0))
        }
        for line in report { print(line) }
        print(goals(results))
        print("written to \(output)")
    }

    /// (a) and (b): the 600-point station, our client against bare libmodbus, then the engine at 1 s.
    static func enginePhases(binDir: String, dir: String, settings: BenchSettings) async throws -> [String: Double] {
        let fastSeconds = settings.fastSeconds
        let warmUp = settings.warmUp
        try profile.write(toFile: dir + "/devices/bench30.toml", atomically: true, encoding: .utf8)
        let port = try freePort()
        let configPath = dir + "/station.toml"
        try config(port: port, interval: "1s").write(toFile: configPath, atomically: true, encoding: .utf8)
        let station = try StationConfigLoader.load(path: configPath, extraProfilePaths: [])
        let slowSeconds = settings.slowSeconds > 0 ? settings.slowSeconds : station.storage.flushInterval.seconds

        // The simulator runs as its own process so this process's CPU and I/O are the poller's alone.
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: binDir + "/waystation-sim")
        sim.arguments = ["--config", configPath, "--no-stdin"]
        sim.standardError = FileHandle.nullDevice
        sim.standardOutput = FileHandle.nullDevice
        try sim.run()
        defer { sim.terminate() }
        try await waitForPort(port)

        var results: [String: Double] = [:]
        let planner = RequestPlanner(maxGap: station.polling.mergeGap)
        guard let bus = station.buses.first else { return results }
        let client = ModbusClient(bus: bus, logger: quiet())
        // Learn each device's read splits first (the simulator refuses reads across holes), as the
        // daemon does once and remembers.
        var plans: [(StationConfig.Device, [ReadRequest])] = []
        for device in station.devices {
            let plan = planner.plan(device.profile.points, profile: device.profile)
            let barriers = try await client.perform(.poll) { c throws(ModbusError) in
                DeviceReader.run(plan, device: device, planner: planner, barriers: [:], on: c).barriers
            }
            plans.append((device, planner.plan(device.profile.points, profile: device.profile, barriers: barriers)))
        }
        results["devices"] = Double(station.devices.count)
        results["points_per_device"] = Double(station.devices.first?.profile.points.count ?? 0)
        results["requests_per_cycle"] = Double(plans.reduce(0) { $0 + $1.1.count })
        results["requests_lower_bound"] = Double(
            station.devices.reduce(0) { $0 + RequestPlanner.lowerBound($1.profile.points, profile: $1.profile) })

        // (a) As fast as it can: our client layer, then a bare libmodbus loop with the same requests.
        // As the poller reads: on the bus thread, each device cycle's result handed on through a bounded
        // stream to a task that takes it in (the daemon's result pipe), no hop per request or cycle.
        let (stream, cycleResults) = AsyncStream<DeviceReader.Cycle>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let taker = Task {
            var cycles = 0
            for await _ in stream { cycles += 1 }
            return cycles
        }
        let start = ContinuousClock.now
        let cyclePlans = plans
        let (reads, errors) = try await client.perform(.poll) { c throws(ModbusError) in
            var reads = 0
            var errors = 0
            while (ContinuousClock.now - start).seconds < fastSeconds {
                for (device, requests) in cyclePlans {
                    let cycle = DeviceReader.run(requests, device: device, planner: planner, barriers: [:], on: c)
                    let failed = cycle.readings.values.contains { if case .failed = $0 { true } else { false } }
                    reads += cycle.requests
                    errors += failed ? 1 : 0
                    cycleResults.yield(cycle)
                }
            }
            return (reads, errors)
        }
        let elapsedFast = (ContinuousClock.now - start).seconds
        cycleResults.finish()
        results["cycles_taken_in_fast"] = Double(await taker.value)
        results["reads_per_s"] = Double(reads) / elapsedFast
        results["read_errors_fast"] = Double(errors)
        results["raw_libmodbus_reads_per_s"] = rawLoop(port: port, plans: plans, seconds: fastSeconds)
        results["reads_ratio_vs_raw"] =
            results["reads_per_s", default: 0] / max(results["raw_libmodbus_reads_per_s", default: 1], 1)

        // (b) The real engine at a 1 s interval, with its SQLite store.
        let database = try StationDatabase(
            path: dir + "/bench.db", migrations: HistoryStore.migrations, logger: quiet())
        let engine = try await PollingEngine(
            config: station, history: HistoryStore(database: database), logger: quiet(),
            station: ThreadExecutor(name: "station"))
        await engine.start()
        // Past start-up (migrations, first transitions). The window's flush is still the first, with
        // every point's first value and the day's tables: the figure is an upper bound.
        try await Task.sleep(for: .milliseconds(Int64(warmUp * 1000)))
        // The WAL is checkpointed at both ends of the window: what the window's flush wrote reaches
        // the database file inside it (in a day, the automatic checkpoint does that), and what the
        // warm-up wrote does not.
        try await database.checkpoint()
        let cpu0 = cpuSeconds()
        let io0 = writtenBytes()
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(Int64(slowSeconds * 1000)))
        // Read before stopping: the flush at shutdown (what is still in memory) is not a per-day cost.
        try await database.checkpoint()
        let elapsed = (ContinuousClock.now - t0).seconds
        let cpu = cpuSeconds() - cpu0
        let written = writtenBytes() - io0
        let cycles = await engine.monitor.cycles
        await engine.stop()
        results["slow_run_seconds"] = elapsed
        results["cycles_at_1s"] = Double(cycles)
        results["cpu_s_per_hour_at_1s"] = cpu / elapsed * 3600
        results["db_bytes_per_day"] = Double(written) / elapsed * 86400
        results["db_file_bytes_after_run"] = Double(fileSize(dir + "/bench.db") + fileSize(dir + "/bench.db-wal"))
        results["peak_rss_mib"] = peakRSSMiB()

        return results
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.3f", v)
    }

    static func quiet() -> Logger {
        var l = Logger(label: "bench")
        l.logLevel = .critical
        return l
    }

    /// Keeps figures other benchmarks (later issues) wrote to the same file.
    static func merge(_ results: [String: Double], into path: String) throws {
        var all: [String: Double] = [:]
        if let data = FileManager.default.contents(atPath: path),
            let old = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            for (k, v) in old {
                if let d = v as? Double { all[k] = d } else if let i = v as? Int { all[k] = Double(i) }
            }
        }
        all.merge(results) { _, new in new }
        let data = try JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// The same requests through libmodbus directly: no actor, no thread hop, no decoding.
    static func rawLoop(port: Int, plans: [(StationConfig.Device, [ReadRequest])], seconds: Double) -> Double {
        guard let ctx = modbus_new_tcp_pi("127.0.0.1", String(port)) else { return 0 }
        defer { modbus_free(ctx) }
        guard modbus_connect(ctx) == 0 else { return 0 }
        defer { modbus_close(ctx) }
        var regs = [UInt16](repeating: 0, count: 125)
        var bits = [UInt8](repeating: 0, count: 2000)
        var reads = 0
        let start = ContinuousClock.now
        while (ContinuousClock.now - start).seconds < seconds {
            for (device, requests) in plans {
                modbus_set_slave(ctx, Int32(device.unit))
                for r in requests {
                    let a = Int32(r.address), n = Int32(r.count)
                    let rc: Int32 =
                        switch r.table {
                        case .coil: modbus_read_bits(ctx, a, n, &bits)
                        case .discrete: modbus_read_input_bits(ctx, a, n, &bits)
                        case .input: modbus_read_input_registers(ctx, a, n, &regs)
                        case .holding: modbus_read_registers(ctx, a, n, &regs)
                        }
                    if rc > 0 { reads += 1 }
                }
            }
        }
        return Double(reads) / (ContinuousClock.now - start).seconds
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// Bytes this process handed to write(2) (`wchar` in /proc/self/io): SQLite's WAL and database
    /// writes, since the engine writes nothing else during the run.
    static func writtenBytes() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static func waitForPort(_ port: Int) async throws {
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.fileReadUnknown)
    }

    static func freePort() throws -> Int { try LoopbackPort.free() }

    static func config(port: Int, interval: String) -> String {
        var text = """
            [station]
            id = "bench"
            name = "Benchmark station"
            [storage]
            path = "bench.db"
            [profiles]
            paths = ["devices"]
            [[bus]]
            name = "gw"
            transport = "tcp"
            host = "127.0.0.1"
            port = \(port)
            timeout = "1s"

            """
        for unit in 1...deviceCount {
            text +=
                "[[device]]\nid = \"m\(unit)\"\nprofile = \"bench30\"\nbus = \"gw\"\nunit = \(unit)\ninterval = \"\(interval)\"\n"
        }
        return text
    }

    /// 30 points: a meter's live values (they move with the simulator's physics) and steady ones,
    /// in input and holding registers with holes, coils and discrete inputs.
    static var profile: String {
        var text = """
            [profile]
            name = "bench30"
            kind = "meter"
            word_order = "big"
            max_registers_per_read = 40
            holes = "zero"

            """
        func point(_ name: String, _ table: String, _ address: Int, _ type: String, deadband: Double = 0) {
            text += "[[point]]\nname = \"\(name)\"\ntable = \"\(table)\"\naddress = \(address)\ntype = \"\(type)\"\n"
            if deadband > 0 { text += "deadband = \(deadband)\n" }
        }
        // SDM120-like live values.
        point("voltage", "input", 0, "float32", deadband: 0.5)
        point("current", "input", 6, "float32", deadband: 0.05)
        point("power", "input", 12, "float32", deadband: 5)
        point("apparent_power", "input", 18, "float32", deadband: 5)
        point("reactive_power", "input", 24, "float32", deadband: 5)
        point("power_factor", "input", 30, "float32", deadband: 0.01)
        point("frequency", "input", 70, "float32", deadband: 0.05)
        point("import_energy", "input", 72, "float32", deadband: 0.01)
        point("export_energy", "input", 74, "float32")
        point("total_energy", "input", 342, "float32", deadband: 0.01)
        // Steady status registers.
        for i in 0..<12 { point("status\(i)", "input", 100 + i * 2, "uint16") }
        for i in 0..<4 { point("setting\(i)", "holding", i, "uint16") }
        for i in 0..<2 { point("relay\(i)", "coil", i, "bool") }
        for i in 0..<2 { point("input\(i)", "discrete", i, "bool") }
        return text
    }
}
