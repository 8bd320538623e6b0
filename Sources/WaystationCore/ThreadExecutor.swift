/// A serial executor backed by one dedicated OS thread.
///
/// Actors that make blocking calls (a bus's libmodbus calls, a notification target's HTTP exchange)
/// run on one, so those calls occupy this thread and never a thread of Swift's shared pool.
///
/// The station's per-poll work runs on `station`: the monitor taking a result in and the alert
/// engine and interlocks reacting to it. A result handed on by a bus thread then wakes this one
/// thread, and the hops between those actors are no thread switches; on the shared pool the same
/// work woke two or three pool threads per poll, and a wake-up costs the kernel more than the work.
/// Nothing on it may block for long: SQLite and the buses are reached through their own threads.
///
/// It is a task executor too: a task started with it as its preference (the monitor's consumer
/// loop) runs its nonisolated parts and its resumptions here as well, never on the pool.
public final class ThreadExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    /// The station's: the monitor and the alert service run on it (the process's lifetime).
    public static let station = ThreadExecutor(name: "station")

    // @unchecked: `jobs` and `stopped` are only touched while holding `condition`.
    private let condition = ThreadCondition()
    private var jobs: [UnownedJob] = []
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
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Lets the thread finish once its queue is empty.
    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty && stopped {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
        }
    }
}
