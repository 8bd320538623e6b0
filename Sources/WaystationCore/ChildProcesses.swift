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

    /// Sets `attributes` so that the child starts with no signal blocked and every handler at its
    /// default (plus `flags`, e.g. `POSIX_SPAWN_SETPGROUP`). A child inherits its parent's signal
    /// mask, and the threads of a Swift program block the signals it handles through Dispatch: a
    /// child spawned from one would ignore SIGTERM for its whole life.
    public static func cleanSignals(_ attributes: inout posix_spawnattr_t, flags: Int32 = 0) {
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | flags))
    }

    /// SIGTERM first, so that a child can stop its own children (a simulator its socat pty pairs);
    /// what is still there after a second gets SIGKILL.
    static func killAll() {
        var pids = live.withLock { s in
            defer { s.pids.removeAll() }
            return s.pids
        }
        for pid in pids { kill(pid, SIGTERM) }
        for _ in 0..<100 where !pids.isEmpty {
            pids = pids.filter { pid in
                var status: Int32 = 0
                return waitpid(pid, &status, WNOHANG) == 0
            }
            if !pids.isEmpty { usleep(10_000) }
        }
        for pid in pids { kill(pid, SIGKILL) }
    }
}
