import Foundation
import TestSupport
import WaystationCore

extension Bench {
    /// The daemon, then collectd, then each under callgrind, one at a time on the CPU, on one
    /// simulator (its own process) serving the 3-device station. Returns the figures and the lines
    /// to print after them (the RSS table, the collectd config, notes).
    static func stationPhases(
        binDir: String, dir: String, settings: BenchSettings
    ) async throws -> (results: [String: Double], report: [String]) {
        var results: [String: Double] = [:]
        var report: [String] = []
        let devices = devicesDirectory()
        let receiver = try WebhookReceiver()
        let station = try BenchStation(
            dir: dir, repoDevices: devices, webhook: "http://127.0.0.1:\(receiver.port)/hook")
        let sim = try await SimProcess(
            binDir: binDir, config: station.configPath, socketPath: station.simSocket, pty: true,
            log: dir + "/sim.log")
        defer { sim.stop() }
        try await station.holdSteadyValues(sim)
        results["station3_points"] = Double(BenchStation.pointCount)

        let daemonTimes = "\(Int(settings.daemonWarmUp)) s warm-up + \(Int(settings.daemonSeconds)) s"
        progress("3-device station: waystationd, \(daemonTimes)")
        let daemon = try await DaemonPhase.run(
            station: station, sim: sim, warmUp: settings.daemonWarmUp, seconds: settings.daemonSeconds)
        let w = daemon.window
        results["daemon_window_s"] = w.seconds
        results["daemon_devices_online"] = Double(daemon.devicesOnline)
        results["daemon_rss_mib"] = Double(daemon.rssKiB) / 1024
        results["daemon_hwm_mib"] = Double(daemon.hwmKiB) / 1024
        results["daemon_cpu_s_per_hour"] = w.cpuSecondsPerHour
        results["daemon_cpu_percent_of_core"] = w.cpuPercent
        results["daemon_cpu_user_share"] = w.userShare
        results["daemon_bytes_per_day"] = w.bytesPerDay
        results["daemon_wchar_per_day"] = w.wcharPerDay
        results["daemon_requests_per_s"] = w.requestsPerSecond
        results["daemon_cpu_us_per_request"] = w.cpuPerRequest * 1e6
        // Every point of the bench station is read once a second.
        let daemonPerValue = w.cpuSecondsPerHour / 3600 / Double(BenchStation.pointCount)
        results["daemon_cpu_us_per_value"] = daemonPerValue * 1e6
        for (file, growth) in daemon.fileGrowth {
            results["daemon_\(file)_growth_bytes_per_day"] = Double(growth) / max(w.seconds, 1e-9) * 86400
        }
        results["daemon_webhooks_received"] = Double(receiver.requests.count)
        if let m = daemon.memory {
            results["daemon_pss_mib"] = Double(m.pssKiB) / 1024
            results["daemon_anon_mib"] = Double(m.anonymousKiB) / 1024
        }
        if let attribution = daemon.attribution {
            for (key, _) in RSSAttribution.classes { results["daemon_rss_\(key)_mib"] = attribution.mib(key) }
            report.append(
                attribution.table(title: "\nwaystationd RSS by mapping (/proc/PID/smaps, end of the window):"))
        }

        progress("3-device station: waystation-web beside waystationd, \(Int(settings.webSeconds)) s idle, then floods")
        let web = try await WebPhase.run(binDir: binDir, station: station, seconds: settings.webSeconds)
        results.merge(web.results) { _, new in new }

        let collectdTimes = "\(Int(settings.collectdWarmUp)) s warm-up + \(Int(settings.collectdSeconds)) s"
        progress("3-device station: collectd, \(collectdTimes)")
        var collectdRun: CollectdPhase.Figures?
        if let collectd = try await CollectdPhase.run(
            station: station, sim: sim, warmUp: settings.collectdWarmUp, seconds: settings.collectdSeconds)
        {
            collectdRun = collectd
            let c = collectd.window
            results["collectd_window_s"] = c.seconds
            results["collectd_rss_mib"] = Double(collectd.rssKiB) / 1024
            results["collectd_hwm_mib"] = Double(collectd.hwmKiB) / 1024
            if let m = collectd.memory {
                results["collectd_pss_mib"] = Double(m.pssKiB) / 1024
                results["collectd_anon_mib"] = Double(m.anonymousKiB) / 1024
            }
            results["collectd_cpu_s_per_hour"] = c.cpuSecondsPerHour
            results["collectd_cpu_percent_of_core"] = c.cpuPercent
            results["collectd_cpu_user_share"] = c.userShare
            results["collectd_bytes_per_day"] = c.bytesPerDay
            results["collectd_wchar_per_day"] = c.wcharPerDay
            results["collectd_csv_growth_bytes_per_day"] = Double(collectd.csvGrowth) / max(c.seconds, 1e-9) * 86400
            results["collectd_requests_per_s"] = c.requestsPerSecond
            results["collectd_cpu_us_per_request"] = c.cpuPerRequest * 1e6
            results["collectd_points"] = Double(collectd.collected)
            // collectd's Interval is 1 s: each collected point once a second.
            let collectdPerValue = c.cpuSecondsPerHour / 3600 / Double(max(collectd.collected, 1))
            results["collectd_cpu_us_per_value"] = collectdPerValue * 1e6
            func ratio(_ key: String, _ ours: Double, _ theirs: Double) {
                if theirs > 0 {
                    results[key] = ours / theirs
                } else {
                    report.append("\(key): collectd's figure is 0; no ratio")
                }
            }
            ratio("daemon_rss_ratio_vs_collectd", Double(daemon.rssKiB), Double(collectd.rssKiB))
            ratio("daemon_hwm_ratio_vs_collectd", Double(daemon.hwmKiB), Double(collectd.hwmKiB))
            ratio("daemon_cpu_ratio_vs_collectd", w.cpuSecondsPerHour, c.cpuSecondsPerHour)
            ratio("daemon_cpu_per_request_ratio_vs_collectd", w.cpuPerRequest, c.cpuPerRequest)
            ratio("daemon_cpu_per_value_ratio_vs_collectd", daemonPerValue, collectdPerValue)
            ratio("daemon_bytes_per_day_ratio_vs_collectd", w.bytesPerDay, c.bytesPerDay)
            ratio("daemon_requests_ratio_vs_collectd", w.requestsPerSecond, c.requestsPerSecond)
            report.append(Self.memoryTable(daemon.memory, collectd.memory))
            report.append("\ncollectd config (generated from the station config): \(collectd.configPath)")
            if !collectd.skipped.isEmpty {
                report.append(
                    "collectd 5.12's modbus plugin reads no coils or discrete inputs; not collected: "
                        + collectd.skipped.joined(separator: ", "))
            }
        }

        report.append(web.table)

        let requestsPerCycle = Int(w.requestsPerSecond.rounded())
        progress("3-device station: waystationd under callgrind, \(settings.callgrindCycles) cycles")
        do {
            if let callgrind = try await CallgrindPhase.daemon(
                binDir: binDir, station: station, sim: sim, requestsPerCycle: requestsPerCycle,
                warmUpCycles: settings.callgrindWarmUpCycles, cycles: settings.callgrindCycles)
            {
                results["daemon_instructions_per_request"] = callgrind.perRequest
                results["daemon_instructions_per_cycle"] = callgrind.perRequest * Double(max(requestsPerCycle, 1))
                results["callgrind_daemon_requests"] = Double(callgrind.requests)
                report.append("callgrind dump of waystationd (callgrind_annotate, kcachegrind): \(callgrind.dumpPath)")
                if let collectd = collectdRun {
                    let perCycle = Int(collectd.window.requestsPerSecond.rounded())
                    progress("3-device station: collectd under callgrind, \(settings.callgrindCycles) cycles")
                    let theirs = try await CallgrindPhase.collectd(
                        configPath: collectd.configPath, dir: dir, sim: sim, requestsPerCycle: perCycle,
                        warmUpCycles: settings.callgrindWarmUpCycles, cycles: settings.callgrindCycles)
                    if let theirs, theirs.perRequest > 0 {
                        results["collectd_instructions_per_request"] = theirs.perRequest
                        results["collectd_instructions_per_cycle"] = theirs.perRequest * Double(max(perCycle, 1))
                        results["callgrind_collectd_requests"] = Double(theirs.requests)
                        results["daemon_instructions_per_request_ratio_vs_collectd"] =
                            callgrind.perRequest / theirs.perRequest
                        report.append("callgrind dump of collectd: \(theirs.dumpPath)")
                    }
                }
            }
        } catch {
            // Optional figures: the others stand without them.
            print("callgrind: \(error); skipped")
        }
        return (results, report)
    }

    /// The daemon's and collectd's memory side by side, as smaps_rollup counts it (issue 21): what
    /// each costs is its anonymous memory and its PSS; RSS counts shared clean pages whole.
    static func memoryTable(_ daemon: ProcessMemory?, _ collectd: ProcessMemory?) -> String {
        func cell(_ k: Int64?) -> String { k.map { String(format: "%9.1f", Double($0) / 1024) } ?? "        -" }
        var lines = [
            "\nmemory at the end of each window (/proc/PID/smaps_rollup, MiB):", "              waystationd  collectd",
        ]
        lines.append(
            "  Anonymous   " + cell(daemon?.anonymousKiB) + "  " + cell(collectd?.anonymousKiB) + "   goal ≤ 4 (daemon)"
        )
        lines.append("  Pss         " + cell(daemon?.pssKiB) + "  " + cell(collectd?.pssKiB) + "   goal ≤ 12 (daemon)")
        lines.append("  Rss         " + cell(daemon?.rssKiB) + "  " + cell(collectd?.rssKiB))
        return lines.joined(separator: "\n")
    }

    /// The shipped profiles: `devices/` of the current directory (`make bench` runs from the
    /// repository), else of the repository this was built from.
    static func devicesDirectory() -> String {
        let here = FileManager.default.currentDirectoryPath + "/devices"
        return FileManager.default.fileExists(atPath: here + "/meter-sdm120.toml") ? here : BuildPaths.repo + "/devices"
    }

    static func progress(_ line: String) {
        FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
    }
}
