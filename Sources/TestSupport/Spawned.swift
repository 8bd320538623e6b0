import Foundation
import WaystationCore

/// A child process for tests: started with posix_spawn and reaped with waitpid, so the handle can be
/// kept across test steps and signalled synchronously. (swift-subprocess 1.0.2 was tried and set
/// aside: it ends the process with a fatalError when a child closes stdin early.)
public final class Spawned: @unchecked Sendable {
    // @unchecked: `status` is guarded by `lock`; the rest is set once.
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// - Parameters:
    ///   - output: file that receives stdout and stderr (nil: /dev/null).
    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil)
        throws
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let out = output ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = [path] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        ChildProcesses.cleanSignals(&attributes)
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, &cArgs, &cEnv)
        guard rc == 0 else { throw TestSupportError("cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
        ChildProcesses.register(child)
    }

    /// Whether it still runs (reaps it when it has exited).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        if r == pid {
            ChildProcesses.forget(pid)
            // Exit code, or 128 + signal.
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            return false
        }
        return r == 0
    }

    public var terminationStatus: Int32? {
        _ = isRunning
        lock.lock()
        defer { lock.unlock() }
        return status
    }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Polls until it exits (a blocking wait would hold a concurrency-pool thread).
    public func wait(timeout: Duration = .seconds(60)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { return nil }
            usleep(5_000)
        }
        return terminationStatus
    }

    /// Runs a program to completion and returns its exit status (128 + signal when killed) and its
    /// combined output. Killed after `timeout`. Waits without blocking Swift's shared pool.
    public static func run(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(120)
    ) async throws -> (Int32, String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ws-out-\(UUID().uuidString)").path
        defer { unlink(out) }
        let p = try Spawned(path, arguments, environment: environment, output: out)
        let deadline = ContinuousClock.now + timeout
        while p.isRunning {
            if ContinuousClock.now > deadline {
                p.signal(SIGKILL)
                Thread.detachNewThread { _ = p.wait(timeout: .seconds(5)) }
                return (-1, "timed out: \(path) \(arguments.joined(separator: " "))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (p.terminationStatus ?? -1, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }
}

/// A failure of a test helper, with what went wrong.
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
