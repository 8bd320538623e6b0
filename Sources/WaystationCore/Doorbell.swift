import Synchronization

/// Wakes whoever waits for "something may have changed" (new outbox rows, …), so they need not poll.
/// A ring while nobody waits is kept (once), so no ring between two waits is lost; waking without
/// a change is harmless (the waiter looks and finds nothing). Any number of waiters; all wake.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Wakes every waiter now, or the next one to wait.
    public func ring() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.waiters.isEmpty else {
                s.rung = true
                return []
            }
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Returns when the bell rings (or rang since the last wait), after `timeout`, or when the task
    /// is cancelled, whichever comes first. `timers` keeps the timeout's timer (the station's thread).
    public func wait(timeout: Duration, timers: ThreadExecutor) async {
        if state.withLock({ s in
            defer { s.rung = false }
            return s.rung
        }) {
            return
        }
        // A timeout rings the bell for everyone: they look once more, which is harmless. Its timer is
        // kept by the station's thread (a poll's wake-up takes it), not by libdispatch and the pool.
        let timer = Task(executorPreference: timers) { [weak self] in
            do { try await timers.periodicSleep(for: timeout) } catch { return }
            self?.ring()
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.rung {
                        s.rung = false
                        return true
                    }
                    s.waiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            ring()
        }
    }
}
