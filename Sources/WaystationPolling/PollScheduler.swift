#if canImport(Glibc)
    import Glibc
#endif

/// When each poll job of one bus runs next. Pure: times are monotonic seconds given by the caller.
///
/// Devices on one interval are spread across it instead of fired together; a job that fails is
/// backed off (exponential, capped, jittered) so a dead device cannot eat its neighbours' bus time;
/// a job that succeeds keeps its cadence (a late poll gets one catch-up; further missed slots are
/// skipped, not queued up).
public struct PollScheduler: Sendable {
    public struct Job: Sendable, Hashable, CustomStringConvertible {
        public var device: String
        /// Seconds between polls of this job's points.
        public var interval: Double
        public init(device: String, interval: Double) {
            self.device = device
            self.interval = interval
        }
        public var description: String { "\(device)@\(interval)s" }
    }

    struct Entry: Sendable {
        var job: Job
        var next: Double
        var failures: Int
    }

    private var entries: [Entry]
    /// Longest back-off for a failing job, in seconds.
    public var maxBackoff: Double

    public init(jobs: [Job], start: Double, maxBackoff: Double = 60) {
        self.maxBackoff = maxBackoff
        var entries: [Entry] = []
        let byInterval = Dictionary(grouping: jobs, by: \.interval)
        for interval in byInterval.keys.sorted() {
            let group = byInterval[interval] ?? []
            for (i, job) in group.enumerated() {
                entries.append(Entry(job: job, next: start + interval * Double(i) / Double(group.count), failures: 0))
            }
        }
        self.entries = entries
    }

    public var jobs: [Job] { entries.map(\.job) }

    /// The job due first and when.
    public func nextDue() -> (job: Job, at: Double)? {
        entries.min { $0.next < $1.next }.map { ($0.job, $0.next) }
    }

    /// Failed runs in a row of a job.
    public func failures(of job: Job) -> Int {
        entries.first { $0.job == job }?.failures ?? 0
    }

    /// Records that a job ran; `jitter` in 0.8…1.2 spreads retries (injected for tests).
    public mutating func completed(_ job: Job, ok: Bool, at now: Double, jitter: Double = 1) {
        guard let i = entries.firstIndex(where: { $0.job == job }) else { return }
        var e = entries[i]
        if ok {
            e.failures = 0
            // Keep the cadence; a poll that ran late is followed by one catch-up poll at once, and
            // the slots missed beyond that are skipped rather than fired in a burst.
            e.next = max(e.next + job.interval, now)
        } else {
            e.failures += 1
            let delay = min(job.interval * pow(2, Double(min(e.failures - 1, 16))), max(maxBackoff, job.interval))
            e.next = now + delay * jitter
        }
        entries[i] = e
    }

    /// Makes a job due now (e.g. after a device is restored by a technician).
    public mutating func wake(_ device: String, at now: Double) {
        for i in entries.indices where entries[i].job.device == device {
            entries[i].next = now
            entries[i].failures = 0
        }
    }
}
