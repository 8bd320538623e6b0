import Foundation
import TestSupport
import WaystationCore

/// Instructions executed per Modbus request, counted by callgrind: a CPU figure that a busy, shared
/// machine does not blur. The daemon (then collectd) runs under `valgrind --tool=callgrind` on the
/// 3-device station; after its start-up and `warmUpCycles` poll cycles the counters are zeroed
/// (`callgrind_control --zero`), and after `cycles` more cycles dumped (`callgrind_control --dump`):
/// the dump's total `Ir` over the requests the simulator served in between. User-space
/// instructions only: the kernel's share of a request (socket and tty syscalls, wake-ups) is not in
/// it, so its ratio is not the CPU-time ratio (`*_cpu_user_share` says how much of each is user).
///
/// Two workarounds for Debian bookworm's valgrind 3.19, neither changing the code measured:
/// - it gives up on the DWARF 5 debug info of the Swift release binary ("unhandled dwarf2 abbrev
///   form code 0x25"), so it runs a copy with the debug sections stripped (`objcopy
///   --strip-debug`; the symbols stay, so the dump still names functions);
/// - its `rt_sigsuspend` wrapper writes into the caller's signal mask, which libdispatch's
///   `dispatch_main` (every Swift async `main`) passes from read-only memory: valgrind dies with
///   SIGSEGV. A preloaded `sigsuspend` that passes a copy of the mask avoids it; the main thread
///   calls it once and then sleeps in it for the life of the process.
struct CallgrindPhase {
    static let valgrind = "/usr/bin/valgrind"
    static let control = "/usr/bin/callgrind_control"
    static let sigsuspendShim = """
        #define _GNU_SOURCE
        #include <signal.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        /* valgrind 3.19 writes into the mask it is given; libdispatch's is read-only. */
        int sigsuspend(const sigset_t *mask) {
            sigset_t copy = *mask;
            return (int)syscall(SYS_rt_sigsuspend, &copy, (size_t)(_NSIG / 8));
        }
        """

    struct Figures {
        var instructions: Int64
        var requests: Int
        var cycles: Int
        var dumpPath: String
        var perRequest: Double { requests > 0 ? Double(instructions) / Double(requests) : 0 }
    }

    static var installed: Bool {
        guard FileManager.default.isExecutableFile(atPath: valgrind),
            FileManager.default.isExecutableFile(atPath: control)
        else {
            print("callgrind: valgrind is not installed (apt-get install valgrind); skipped")
            return false
        }
        return true
    }

    /// The daemon under callgrind; nil (with the reason printed) when valgrind is not installed.
    static func daemon(
        binDir: String, station: BenchStation, sim: SimProcess, requestsPerCycle: Int, warmUpCycles: Int, cycles: Int
    ) async throws -> Figures? {
        guard installed else { return nil }
        let (binary, shim) = try await prepare(binDir: binDir, dir: station.dir)
        return try await measure(
            "waystationd", [binary, "--config", station.configPath],
            environment: ["SWIFT_BACKTRACE": "enable=no", "LD_PRELOAD": shim], out: station.dir + "/callgrind.out",
            sim: sim, requestsPerCycle: requestsPerCycle, warmUpCycles: warmUpCycles, cycles: cycles)
    }

    /// collectd (its config from the collectd phase) under callgrind, the same way.
    static func collectd(
        configPath: String, dir: String, sim: SimProcess, requestsPerCycle: Int, warmUpCycles: Int, cycles: Int
    ) async throws -> Figures? {
        guard installed else { return nil }
        return try await measure(
            "collectd", [CollectdPhase.binary, "-f", "-C", configPath], environment: [:],
            out: dir + "/callgrind-collectd.out", sim: sim, requestsPerCycle: requestsPerCycle,
            warmUpCycles: warmUpCycles, cycles: cycles)
    }

    /// Runs `command` under callgrind; zeroes the counters after its start-up and `warmUpCycles`,
    /// dumps them after `cycles` more, and stops it (SIGTERM).
    static func measure(
        _ name: String, _ command: [String], environment: [String: String], out: String, sim: SimProcess,
        requestsPerCycle: Int, warmUpCycles: Int, cycles: Int
    ) async throws -> Figures {
        let program = try Spawned(
            valgrind, ["--tool=callgrind", "--callgrind-out-file=\(out)"] + command,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, output: out + ".log")
        defer {
            if program.isRunning {
                program.signal(SIGKILL)
                _ = program.wait(timeout: .seconds(10))
            }
        }
        let perCycle = max(requestsPerCycle, 1)
        func waitForRequests(_ count: Int, from start: Int, _ what: String) async throws -> Int {
            var served = start
            // Generous: valgrind runs a program tens of times slower than native.
            try await waitUntil(what, within: .seconds(120 + 5 * Double(count / perCycle))) {
                guard program.isRunning else { throw BenchError("\(name) under callgrind exited; see \(out).log") }
                served = try await sim.totalServed()
                return served - start >= count
            }
            return served
        }
        let start = try await sim.totalServed()
        _ = try await waitForRequests(perCycle * (warmUpCycles + 1), from: start, "\(name) polling under callgrind")
        try await callgrindControl(["--zero", "\(program.pid)"])
        let served0 = try await sim.totalServed()
        let served1 = try await waitForRequests(perCycle * cycles, from: served0, "\(cycles) cycles of \(name)")
        try await callgrindControl(["--dump=bench", "\(program.pid)"])
        let dump = out + ".1"
        try await waitUntil("the callgrind dump of \(name)", within: .seconds(30)) { totalIr(dump) != nil }
        // Stopped politely, but its figures are in the dump: one slow to exit (collectd under
        // valgrind can take a minute) is killed by the defer.
        program.signal(SIGTERM)
        try? await waitUntil("\(name) under callgrind to stop", within: .seconds(15)) { !program.isRunning }
        guard let ir = totalIr(dump) else { throw BenchError("no totals in \(dump)") }
        return Figures(instructions: ir, requests: served1 - served0, cycles: cycles, dumpPath: dump)
    }

    /// The daemon without debug sections, and the sigsuspend shim, built in `dir`.
    static func prepare(binDir: String, dir: String) async throws -> (binary: String, shim: String) {
        let binary = dir + "/waystationd-nodebug"
        let (status, output) = try await Spawned.run(
            "/usr/bin/objcopy", ["--strip-debug", binDir + "/waystationd", binary], timeout: .seconds(120))
        guard status == 0 else { throw BenchError("objcopy --strip-debug failed:\n\(output)") }
        let source = dir + "/sigsuspend-shim.c"
        let shim = dir + "/sigsuspend-shim.so"
        try sigsuspendShim.write(toFile: source, atomically: true, encoding: .utf8)
        let compilers =
            ["/usr/bin/cc", "/usr/bin/clang"]
            + (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map { $0 + "/clang" }
        guard let cc = compilers.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchError("no C compiler (cc or clang) for the sigsuspend shim valgrind needs")
        }
        let (ccStatus, ccOutput) = try await Spawned.run(
            cc, ["-shared", "-fPIC", "-O2", "-o", shim, source], timeout: .seconds(120))
        guard ccStatus == 0 else { throw BenchError("\(cc) failed on the sigsuspend shim:\n\(ccOutput)") }
        return (binary, shim)
    }

    static func callgrindControl(_ arguments: [String]) async throws {
        let (status, output) = try await Spawned.run(control, arguments, timeout: .seconds(60))
        guard status == 0, output.contains("OK") else {
            throw BenchError("callgrind_control \(arguments.joined(separator: " ")) failed:\n\(output)")
        }
    }

    /// The first event (Ir) of a callgrind dump's `totals:` (or `summary:`) line.
    static func totalIr(_ path: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("totals:") || line.hasPrefix("summary:") {
            if let value = line.split(separator: " ").dropFirst().first.flatMap({ Int64($0) }) { return value }
        }
        return nil
    }
}
