import Foundation
import TestSupport
import Testing

/// A stop while an exec notification target hangs: the daemon must not wait for the program's own
/// deadline (a minute here), and must not leave it running behind.
@Suite("Exec targets at a stop", .serialized)
struct ExecStopTests {
    @Test("SIGTERM while an exec target hangs: its process group is killed and the daemon exits within 10 s")
    func stopDuringHungExec() async throws {
        let marker = "ws-exec-stop-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let s = try TestStation(
            tcpUnits: [1],
            extraConfig: """
                [[alert]]
                name = "CoilOn"
                device = "t1"
                when = "c1"

                [[notify]]
                kind = "exec"
                name = "hanger"
                command = ["/bin/bash", "-c", "exec -a \(marker) sleep 300"]
                timeout = "60s"

                """)
        let r = try await StationRun(s, waitForOnline: ["t1"])
        /// Processes whose command line carries the marker (`exec -a` names the sleep after it).
        func running() -> Int {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return pids.filter { pid in
                guard pid.allSatisfy(\.isNumber),
                    let cmd = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
                else { return false }
                return String(decoding: cmd, as: UTF8.self).hasPrefix(marker)
            }.count
        }
        try await r.daemon.waitFor("the exec target is running") { running() >= 1 }
        r.daemon.signal(SIGTERM)
        let status = try await r.daemon.waitForExit(within: .seconds(10))
        if status == nil { r.daemon.killHard() }
        #expect(status == 0, "still running 10 s after SIGTERM (or failed)")
        #expect(running() == 0, "the hung program was left running after the daemon stopped")
    }
}
