import Foundation
import TestSupport
import WaystationCore

/// collectd (Debian `collectd-core`) with its modbus plugin polling the same simulated devices as
/// the daemon did, run after the daemon has stopped so the two never share the CPU.
struct CollectdPhase {
    static let binary = "/usr/sbin/collectd"

    struct Figures {
        var window: WindowFigures
        var rssKiB: Int64
        var hwmKiB: Int64
        /// smaps_rollup at the end of the window.
        var memory: ProcessMemory?
        /// Growth of the csv files over the window, in bytes.
        var csvGrowth: Int64
        var configPath: String
        var collected: Int
        var skipped: [String]
    }

    /// nil (with the reason printed) when collectd is not installed.
    static func run(
        station: BenchStation, sim: SimProcess, warmUp: Double, seconds: Double
    ) async throws -> Figures? {
        guard FileManager.default.isExecutableFile(atPath: binary),
            FileManager.default.fileExists(atPath: "/usr/lib/collectd/modbus.so")
        else {
            print("collectd: \(binary) or its modbus plugin is missing (apt-get install collectd-core); skipped")
            return nil
        }
        let base = station.dir + "/collectd"
        let csv = base + "/csv"
        try FileManager.default.createDirectory(atPath: csv, withIntermediateDirectories: true)
        let config = try CollectdConfig(station: station.config, baseDir: base, csvDir: csv)
        let configPath = station.dir + "/collectd.conf"
        try config.text.write(toFile: configPath, atomically: true, encoding: .utf8)
        let (status, output) = try await Spawned.run(binary, ["-t", "-C", configPath], timeout: .seconds(30))
        guard status == 0 else { throw BenchError("collectd -t refused \(configPath):\n\(output)") }

        let log = station.dir + "/collectd.log"
        let collectd = try Spawned(binary, ["-f", "-C", configPath], output: log)
        defer {
            if collectd.isRunning {
                collectd.signal(SIGTERM)
                if collectd.wait(timeout: .seconds(10)) == nil { collectd.signal(SIGKILL) }
            }
        }
        let start = try await sim.totalServed()
        try await waitUntil("collectd polling the simulator", within: .seconds(20)) {
            guard collectd.isRunning else {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw BenchError("collectd exited:\n\(text)")
            }
            return try await sim.totalServed() > start
        }
        try await Task.sleep(for: .seconds(warmUp))
        let csv0 = directorySize(csv)
        let served0 = try await sim.totalServed()
        guard let before = ProcessFigures.read(pid: collectd.pid) else { throw BenchError("collectd exited") }
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        guard let after = ProcessFigures.read(pid: collectd.pid) else { throw BenchError("collectd exited") }
        let elapsed = (ContinuousClock.now - t0).seconds
        let served1 = try await sim.totalServed()
        let csv1 = directorySize(csv)
        let memory = ProcessMemory.of(collectd.pid)
        return Figures(
            window: WindowFigures(from: before, to: after, seconds: elapsed, requests: served1 - served0),
            rssKiB: after.rssKiB, hwmKiB: after.hwmKiB, memory: memory, csvGrowth: csv1 - csv0, configPath: configPath,
            collected: config.collected, skipped: config.skipped)
    }

    static func directorySize(_ path: String) -> Int64 {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let name = walker.nextObject() as? String { total += ProcessFigures.fileSize(path + "/" + name) }
        return total
    }
}
