#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Children that must not outlive this process (socat pty pairs, the binaries tests start): they
/// are killed when it exits normally, even where no deinit ran (a test run ending, `exit()`).
public enum ChildProcesses {
    private static let live = Mutex<(pids: Set<pid_t>, hooked: Bool)>(([], false))

    /// Kills `pid` at exit unless `forget` is called first.
    public static func register(_ pid: pid_t) {
        let hook = live.withLock { s -> Bool in
            s.pids.insert(pid)
            defer { s.hooked = true }
            return !s.hooked
        }
        if hook { atexit { ChildProcesses.killAll() } }
    }

    /// `pid` ended (or was stopped) as it should.
    public static func forget(_ pid: pid_t) {
        _ = live.withLock { $0.pids.remove(pid) }
    }

    static func killAll() {
        let pids = live.withLock { s in
            defer { s.pids.removeAll() }
            return s.pids
        }
        for pid in pids { kill(pid, SIGKILL) }
    }
}
