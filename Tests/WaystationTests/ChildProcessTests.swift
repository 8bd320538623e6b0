import Foundation
import TestSupport
import Testing
import WaystationSim

/// Children started by the simulator and the tests begin with no signal blocked: a child inherits
/// the signal mask of the thread that spawned it, and Swift's threads block the signals the
/// program handles through Dispatch. Before this, socat pty pairs ignored SIGTERM and outlived the
/// simulators that made them (a dozen left after a `make test`).
@Suite("Child processes")
struct ChildProcessTests {
    /// The blocked-signal mask of a process, from /proc/PID/status.
    static func blockedSignals(_ pid: pid_t) -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("SigBlk:") {
            return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }

    /// The pid of the process whose command line contains `text`.
    static func pid(withArgument text: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if String(decoding: cmdline, as: UTF8.self).contains(text) { return pid }
        }
        return nil
    }

    @Test("a program started by a test blocks no signal and stops on SIGTERM")
    func spawnedStopsOnTerm() async throws {
        let child = try Spawned("/bin/sleep", ["30"])
        #expect(Self.blockedSignals(child.pid) == 0)
        child.signal(SIGTERM)
        #expect(child.wait(timeout: .seconds(10)) != nil, "sleep ignored SIGTERM")
    }

    @Test("a socat pty pair blocks no signal, and is gone once stopped")
    func ptyPairStops() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-pty-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pair = try PtyPair(daemonEnd: dir + "/a", simulatorEnd: dir + "/b")
        let socat = try #require(Self.pid(withArgument: dir + "/a"), "no socat for \(dir)")
        #expect(Self.blockedSignals(socat) == 0)
        pair.stop()
        let deadline = ContinuousClock.now + .seconds(10)
        while Self.pid(withArgument: dir + "/a") != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Self.pid(withArgument: dir + "/a") == nil, "socat still runs after stop()")
    }
}
