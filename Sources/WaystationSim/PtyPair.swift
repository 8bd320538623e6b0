import Foundation
import WaystationCore

/// A pseudo-terminal pair made by socat: two linked paths that behave like the two ends of an
/// RS-485 line. Used by the simulator's `--pty` and by tests. socat is started with posix_spawn and
/// stopped (and reaped) by `stop()` or when the pair is released.
public final class PtyPair: @unchecked Sendable {
    // @unchecked: `pid` is cleared under `lock`.
    private let lock = NSLock()
    private var pid: pid_t

    /// Starts socat and waits until both paths exist.
    public init(daemonEnd: String, simulatorEnd: String, timeout: Duration = .seconds(5)) throws {
        guard let socat = Self.findExecutable("socat") else {
            throw SimulatorError("socat is not installed (apt-get install socat); it makes the RTU pty pairs")
        }
        for path in [daemonEnd, simulatorEnd] { unlink(path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // No inherited pipes: a test runner waiting for EOF on its output must not wait on socat.
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = [socat, "pty,raw,echo=0,link=\(daemonEnd)", "pty,raw,echo=0,link=\(simulatorEnd)"]
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        ChildProcesses.cleanSignals(&attributes)
        var child: pid_t = 0
        guard posix_spawn(&child, socat, &actions, &attributes, &cArgs, environ) == 0 else {
            throw SimulatorError("cannot start socat")
        }
        pid = child
        ChildProcesses.register(child)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: daemonEnd), FileManager.default.fileExists(atPath: simulatorEnd) {
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        stop()
        throw SimulatorError("socat did not create the pty pair \(daemonEnd) / \(simulatorEnd)")
    }

    deinit { stop() }

    /// Stops socat (the links disappear with it). Returns at once: socat is reaped on a thread of its
    /// own, so a caller on Swift's shared pool (a test's deinit) never waits for it.
    public func stop() {
        lock.lock()
        let p = pid
        pid = 0
        lock.unlock()
        guard p > 0 else { return }
        kill(p, SIGTERM)
        ChildProcesses.forget(p)
        Thread.detachNewThread {
            var status: Int32 = 0
            for _ in 0..<200 {
                if waitpid(p, &status, WNOHANG) != 0 { return }
                usleep(10_000)
            }
            kill(p, SIGKILL)
            waitpid(p, &status, 0)
        }
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
