import Foundation

/// How long each phase runs, from the environment. `BENCH_QUICK=1` makes every phase short (a smoke
/// check: the figures are not stable); any `BENCH_*` variable set explicitly still wins.
struct BenchSettings {
    var quick: Bool
    /// Engine phases (in-process engine on the 600-point station).
    var fastSeconds: Double
    var slowSeconds: Double
    var warmUp: Double
    /// Real daemon and collectd on the 3-device station: warm-up, then the measured window.
    var daemonWarmUp: Double
    var daemonSeconds: Double
    var collectdWarmUp: Double
    var collectdSeconds: Double
    /// Poll cycles of the 3-device station measured under callgrind (after its warm-up).
    var callgrindCycles: Int
    var callgrindWarmUpCycles: Int
    var alertRounds: Int
    /// waystation-web idle beside the daemon, two event streams open: the wake-up window.
    var webSeconds: Double
    var output: String
    /// Where the stations' files go: must be a real file system (write_bytes is 0 on tmpfs).
    var workDir: String
    /// Keep the work directory (configs, databases, logs, callgrind output) after the run.
    var keep: Bool
    /// Phases to run (`BENCH_PHASES`, comma-separated): engine, alerts, station. Default: all.
    var phases: Set<String>

    init(environment env: [String: String]) {
        let quick = env["BENCH_QUICK"].map { $0 != "" && $0 != "0" } ?? false
        func seconds(_ key: String, _ normal: Double, _ short: Double) -> Double {
            Double(env[key] ?? "") ?? (quick ? short : normal)
        }
        self.quick = quick
        fastSeconds = seconds("BENCH_FAST_SECONDS", 5, 1)
        // 0: one `flush_interval` of the engine's station (10 min by default), so that exactly one
        // history flush falls in the window, as for the daemon below.
        slowSeconds = seconds("BENCH_SLOW_SECONDS", 0, 5)
        warmUp = seconds("BENCH_WARMUP_SECONDS", 10, 2)
        // The warm-up leaves start-up writes out: migrations, first states, learned splits, and the
        // first history flush (10 min after start: every point's first value, its series row, the
        // day's tables). The window is one `flush_interval` (10 min by default) long, so exactly one
        // steady history flush (holding the 10 minutes before it) falls in it, as on every 10
        // minutes of a day.
        daemonWarmUp = seconds("BENCH_DAEMON_WARMUP_SECONDS", 610, 4)
        daemonSeconds = seconds("BENCH_DAEMON_SECONDS", 600, 8)
        collectdWarmUp = seconds("BENCH_COLLECTD_WARMUP_SECONDS", 10, 3)
        collectdSeconds = seconds("BENCH_COLLECTD_SECONDS", 120, 8)
        callgrindCycles = Int(seconds("BENCH_CALLGRIND_CYCLES", 60, 5))
        // Past the daemon's one-time heap trim, 30 s after READY: steady state only.
        callgrindWarmUpCycles = Int(seconds("BENCH_CALLGRIND_WARMUP_CYCLES", 40, 2))
        alertRounds = Int(seconds("BENCH_ALERT_ROUNDS", 5, 2))
        webSeconds = seconds("BENCH_WEB_SECONDS", 60, 5)
        output = env["BENCH_OUTPUT"] ?? "bench-results.json"
        workDir = env["BENCH_DIR"] ?? FileManager.default.temporaryDirectory.path
        phases = Set(
            (env["BENCH_PHASES"] ?? "engine,alerts,station").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            })
        keep = env["BENCH_KEEP"].map { $0 != "" && $0 != "0" } ?? false
    }
}
