/// A serial executor backed by one dedicated OS thread.
///
/// Actors that make blocking calls (a bus's libmodbus calls, a notification target's HTTP exchange)
/// run on one, so those calls occupy this thread and never a thread of Swift's shared pool.
public final class ThreadExecutor: SerialExecutor, @unchecked Sendable {
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
            for job in batch { job.runSynchronously(on: asUnownedSerialExecutor()) }
        }
    }
}
