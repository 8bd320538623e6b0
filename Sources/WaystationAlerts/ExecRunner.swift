#if canImport(Glibc)
    import Glibc
#endif
import SystemPackage
import WaystationCore

/// Runs an exec notification target: the program (no shell) with the payload on stdin, on a thread
/// of its own (blocking calls never on Swift's shared pool).
///
/// The child starts with an empty signal mask and default signal handlers, in its own process group;
/// it has a total deadline, after which the whole group is killed and the child reaped. A child that
/// closes stdin early, or never reads it, is an error for this notification, never a crash or a hang.
///
/// Not swift-subprocess: its 1.0.2 ends the process with `fatalError("FileDescriptor … was not
/// closed")` when a child closes stdin before reading (reproduced here in 3 of 3 runs), which in a
/// daemon would be the crash this replaces.
actor ExecRunner {
    private let thread: ThreadExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }

    init(name: String) {
        thread = ThreadExecutor(name: "exec-\(name)", stackSize: 256 << 10)
    }

    deinit { thread.stop() }

    /// The environment variable that carries a notification's idempotency key to the program.
    static let idempotencyVariable = "WAYSTATION_IDEMPOTENCY_KEY"

    func run(
        _ command: [String], stdin payload: String, idempotencyKey: String? = nil, timeout: Duration
    ) throws(HTTPFailure) {
        guard let program = command.first else { throw HTTPFailure("empty command") }
        let deadline = ContinuousClock.now + timeout
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw HTTPFailure("pipe: \(Errno(rawValue: errno))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, 0)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        ChildProcesses.cleanSignals(&attributes, flags: Int32(POSIX_SPAWN_SETPGROUP))
        var argv = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var envp = Self.environment(idempotencyKey: idempotencyKey)
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, &argv, &envp)
        close(readEnd)
        guard rc == 0 else {
            close(writeEnd)
            throw HTTPFailure("cannot run \(program): \(Errno(rawValue: rc))", permanent: true)
        }
        var problem = Self.write(Array(payload.utf8), to: writeEnd, deadline: deadline)
        close(writeEnd)
        // Wait for it, within the deadline; then the group is killed and the child reaped.
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR {
                throw HTTPFailure("waiting for \(program): \(Errno(rawValue: errno))")
            }
            // At its deadline, or when the daemon stops (the delivery is cancelled after its grace):
            // the whole group is killed and reaped, never left behind or waited on for minutes.
            let stopped = Task.isCancelled
            if stopped || ContinuousClock.now >= deadline {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                if stopped { throw HTTPFailure("\(program) killed at the stop; it runs again after the restart") }
                throw HTTPFailure("\(program) did not finish within \(DurationParser.format(timeout)); killed")
            }
            usleep(5_000)
        }
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        if exited, code == 0 {
            if let problem { throw HTTPFailure("\(program) exited 0 but \(problem)") }
            return
        }
        problem = problem.map { "; \($0)" } ?? ""
        throw HTTPFailure(
            exited
                ? "\(program) exited with status \(code)\(problem ?? "")"
                : "\(program) ended by signal \(status & 0x7f)")
    }

    /// Writes the payload to the child's stdin within the deadline; says what went wrong, if anything
    /// (a child that closed stdin early gives EPIPE, which the daemon ignores: SIGPIPE is ignored).
    static func write(_ bytes: [UInt8], to fd: Int32, deadline: ContinuousClock.Instant) -> String? {
        let descriptor = FileDescriptor(rawValue: fd)
        var offset = 0
        while offset < bytes.count {
            do {
                let n = try bytes[offset...].withUnsafeBytes { try descriptor.write($0) }
                offset += n
            } catch Errno.resourceTemporarilyUnavailable {
                let left = deadline - ContinuousClock.now
                if left <= .zero { return "it did not read its input in time" }
                if Task.isCancelled { return "the daemon stopped before it read its input" }
                // In slices, so a stop is noticed within a tenth of a second.
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, Int32(clamping: min(100, max(1, left.milliseconds))))
            } catch Errno.interrupted {
                continue
            } catch {
                return "it closed its input early (\(error))"
            }
        }
        return nil
    }

    /// The daemon's environment for the child, with the notification's key (replacing any inherited one).
    private static func environment(idempotencyKey: String?) -> [UnsafeMutablePointer<CChar>?] {
        var result: [UnsafeMutablePointer<CChar>?] = []
        let prefix = idempotencyVariable + "="
        var entry = environ
        while let p = entry.pointee {
            if !String(cString: p).hasPrefix(prefix) { result.append(strdup(p)) }
            entry += 1
        }
        if let idempotencyKey { result.append(strdup(prefix + idempotencyKey)) }
        return result + [nil]
    }
}
