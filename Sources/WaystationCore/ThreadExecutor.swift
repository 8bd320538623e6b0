import Synchronization

/// A serial executor backed by one dedicated OS thread.
///
/// Actors that make blocking calls (a bus's libmodbus calls, a notification target's HTTP exchange)
/// run on one, so those calls occupy this thread and never a thread of Swift's shared pool.
///
/// The station's per-poll work runs on one, the station's thread (made by the daemon's composition
/// root, `StationDaemon`, and handed to every service that runs there): the monitor taking a result in and the alert
/// engine and interlocks reacting to it. A result handed on by a bus thread then wakes this one
/// thread, and the hops between those actors are no thread switches; on the shared pool the same
/// work woke two or three pool threads per poll, and a wake-up costs the kernel more than the work.
/// Nothing on it may block for long: SQLite and the buses are reached through their own threads.
///
/// It is a task executor too: a task started with it as its preference (the monitor's consumer
/// loop, the daemon's periodic services) runs its nonisolated parts and its resumptions here as
/// well, never on the pool. And it keeps timers (`sleep(for:tolerance:)`): a service's periodic
/// work waits here rather than in `Task.sleep`, whose timer wakes libdispatch's manager thread and
/// a pool thread (started anew after each idle spell) before the work hops here anyway; with a
/// tolerance, the timer is taken by a wake-up the thread has anyway (the next poll).
public final class ThreadExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private struct Timer {
        /// Due (monotonic ns): it fires at the first wake-up of the thread from then on …
        let due: UInt64
        /// … and wakes the thread itself at this time if nothing else did.
        let latest: UInt64
        let sleeper: Sleeper
    }

    // @unchecked: `jobs`, `timers`, `sleeping` and `stopped` are only touched while holding
    // `condition`.
    private let condition = ThreadCondition()
    private var jobs: [UnownedJob] = []
    private var timers: [Timer] = []
    /// The thread waits on `condition` (an enqueue must signal it).
    private var sleeping = false
    private var stopped = false
    public let name: String

    public init(name: String, stackSize: Int = 512 << 10) {
        self.name = name
        OSThread.start(name: name, stackSize: stackSize) { [self] in self.run() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        let wake = sleeping
        sleeping = false
        condition.unlock()
        // After unlocking: a thread woken under the lock would block on it at once.
        if wake { condition.signal() }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Lets the thread finish once its queue is empty; a sleep not yet over ends with
    /// `CancellationError`.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Suspends the calling task for `duration` at least, its timer kept by this thread; the task
    /// then goes on on its own executor (this one, for a task that prefers it). With a `tolerance`,
    /// the timer fires at the thread's first wake-up after `duration` and by `duration + tolerance`
    /// at the latest. Throws `CancellationError` as soon as the task is cancelled.
    public func sleep(for duration: Duration, tolerance: Duration = .zero) async throws {
        let due = MonotonicTime.now &+ MonotonicTime.nanoseconds(duration)
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Void, any Error>) in
                guard sleeper.wait(c) else { return }
                condition.lock()
                timers.append(Timer(due: due, latest: due &+ MonotonicTime.nanoseconds(tolerance), sleeper: sleeper))
                let wake = sleeping
                condition.unlock()
                // A sleeping thread waits for its earliest timer: it must look at this one.
                if wake { condition.signal() }
            }
        } onCancel: {
            sleeper.cancel()
        }
    }

    /// A periodic service's wait, kept by this thread: up to a tenth longer (a second at most), so
    /// that another wake-up (on the station's thread, the next poll's) takes it. For tasks that
    /// prefer this thread.
    public func periodicSleep(for duration: Duration) async throws {
        try await sleep(for: duration, tolerance: min(duration / 10, .seconds(1)))
    }

    private func run() {
        while true {
            condition.lock()
            var fired: [Sleeper] = []
            while true {
                if !timers.isEmpty {
                    let now = MonotonicTime.now
                    // One pass, in place: the timers that are over move to the end. A cancelled
                    // sleeper's timer goes too (firing it does nothing: its task went on).
                    let split = timers.partition { $0.due <= now || $0.sleeper.isCancelled }
                    if split < timers.endIndex {
                        // In the order they fell due (several may, in one wake-up).
                        fired = timers[split...].sorted { $0.due < $1.due }.map(\.sleeper)
                        timers.removeSubrange(split...)
                    }
                }
                if !jobs.isEmpty || !fired.isEmpty || stopped { break }
                sleeping = true
                if let latest = timers.lazy.map(\.latest).min() {
                    condition.wait(untilNanoseconds: latest)
                } else {
                    condition.wait()
                }
                sleeping = false
            }
            if jobs.isEmpty && fired.isEmpty && stopped {
                let left = timers
                timers = []
                condition.unlock()
                for timer in left { timer.sleeper.cancel() }
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            // A resumed task is enqueued on its executor: here, for one that prefers this thread.
            for sleeper in fired { sleeper.fire() }
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
        }
    }
}

/// One task's sleep on a `ThreadExecutor`: resumed once, by its timer or by its cancellation,
/// whichever comes first (the cancellation handler may run before the task has suspended).
private final class Sleeper: Sendable {
    private enum Phase {
        case starting
        case waiting(UnsafeContinuation<Void, any Error>)
        case cancelled
        case done
    }
    private let phase = Mutex(Phase.starting)

    var isCancelled: Bool {
        phase.withLock { if case .cancelled = $0 { true } else { false } }
    }

    /// Keeps the continuation; false (and resumed, throwing) if cancelled already.
    func wait(_ c: UnsafeContinuation<Void, any Error>) -> Bool {
        let cancelled = phase.withLock { p -> Bool in
            if case .cancelled = p { return true }
            p = .waiting(c)
            return false
        }
        if cancelled { c.resume(throwing: CancellationError()) }
        return !cancelled
    }

    func fire() {
        take(becoming: .done)?.resume()
    }

    func cancel() {
        take(becoming: .cancelled)?.resume(throwing: CancellationError())
    }

    private func take(becoming next: Phase) -> UnsafeContinuation<Void, any Error>? {
        phase.withLock { p in
            switch p {
            case .starting:
                if case .cancelled = next { p = .cancelled }
                return nil
            case .waiting(let c):
                p = next
                return c
            case .cancelled, .done:
                return nil
            }
        }
    }
}
