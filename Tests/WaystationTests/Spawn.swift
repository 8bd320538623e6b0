import Foundation

/// Starts programs with posix_spawn and reaps them with waitpid: Foundation's `Process` can miss a
/// child's exit when a test process starts many of them at once, and hang `waitUntilExit`.
final class Spawned: @unchecked Sendable {
    // @unchecked: `status` is guarded by `lock`; the rest is set once.
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// - Parameters:
    ///   - output: file that receives stdout and stderr (nil: /dev/null).
    init(_ path: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil) throws {
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
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, &cArgs, &cEnv)
        guard rc == 0 else { throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: path]) }
        pid = child
    }

    /// Whether it still runs (reaps it when it has exited).
    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        if r == pid {
            // Exit code, or 128 + signal.
            status = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            return false
        }
        return r == 0
    }

    var terminationStatus: Int32? {
        _ = isRunning
        lock.lock()
        defer { lock.unlock() }
        return status
    }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Polls until it exits (a blocking wait would hold a concurrency-pool thread).
    func wait(timeout: Duration = .seconds(60)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { return nil }
            usleep(5_000)
        }
        return terminationStatus
    }

    /// Runs a program to completion and returns its status and combined output.
    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (
        Int32, String
    ) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ws-out-\(UUID().uuidString)").path
        defer { unlink(out) }
        let p = try Spawned(path, arguments, environment: environment, output: out)
        guard let status = p.wait() else {
            p.signal(SIGKILL)
            _ = p.wait(timeout: .seconds(5))
            return (-1, "timed out: \(path) \(arguments.joined(separator: " "))")
        }
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }
}
