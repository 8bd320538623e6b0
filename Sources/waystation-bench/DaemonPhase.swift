import Foundation
import TestSupport
import WaystationCore

/// The real `waystationd` as users run it — as systemd starts it (`Type=notify`, `WatchdogSec=30s`,
/// `SWIFT_BACKTRACE=enable=no`), with its alert rules, the webhook notifier, visits and the control
/// socket on — polling the 3-device station on a simulator in its own process.
struct DaemonPhase {
    struct Figures {
        var window: WindowFigures
        var rssKiB: Int64
        var hwmKiB: Int64
        /// smaps_rollup at the end of the window: what the daemon costs (anonymous, PSS).
        var memory: ProcessMemory?
        var attribution: RSSAttribution?
        /// Growth over the window of the database, its WAL and -shm, and the daemon's log, in bytes.
        var fileGrowth: [(String, Int64)]
        var devicesOnline: Int
    }

    /// Runs the daemon for `warmUp`, then measures it over `seconds`, then stops it (SIGTERM).
    static func run(
        station: BenchStation, sim: SimProcess, warmUp: Double, seconds: Double
    ) async throws -> Figures {
        let daemon = try DaemonProcess(
            config: station.configPath, dir: station.dir, watchdogUsec: 30_000_000,
            environment: ["SWIFT_BACKTRACE": "enable=no"])
        try await daemon.waitFor("READY=1 from waystationd", within: .seconds(30)) { daemon.count("READY=1") >= 1 }
        let pid = daemon.process.pid
        // The control socket answers (as waystation-web and waystationctl use it).
        let socket = station.config.control.socket
        let online = try await onThread { () throws -> Int in
            let status = try VarlinkClient(path: socket, timeout: 10).call("io.waystation.Station.GetStatus")
            return status["devices"]?.array?.filter { $0["state"]?.string == "online" }.count ?? 0
        }
        try await Task.sleep(for: .seconds(warmUp))

        let files = ["station.db", "station.db-wal", "station.db-shm", "daemon.log"].map { station.dir + "/" + $0 }
        let sizes0 = files.map(ProcessFigures.fileSize)
        let served0 = try await sim.totalServed()
        guard let before = ProcessFigures.read(pid: pid) else { throw BenchError("waystationd exited during warm-up") }
        let t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        guard let after = ProcessFigures.read(pid: pid) else {
            throw BenchError("waystationd exited during the measured window; log:\n\(daemon.log.suffix(2000))")
        }
        let elapsed = (ContinuousClock.now - t0).seconds
        let served1 = try await sim.totalServed()
        let sizes1 = files.map(ProcessFigures.fileSize)
        let attribution = await RSSAttribution.measure(pid: pid)
        let memory = ProcessMemory.of(pid)

        daemon.signal(SIGTERM)
        if try await daemon.waitForExit(within: .seconds(30)) == nil { daemon.killHard() }
        return Figures(
            window: WindowFigures(from: before, to: after, seconds: elapsed, requests: served1 - served0),
            rssKiB: after.rssKiB, hwmKiB: after.hwmKiB, memory: memory, attribution: attribution,
            fileGrowth: zip(["db", "wal", "shm", "log"], zip(sizes0, sizes1).map { $1 - $0 }).map { ($0, $1) },
            devicesOnline: online)
    }
}
