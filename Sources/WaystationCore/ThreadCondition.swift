import CShim

#if canImport(Glibc)
    import Glibc
#endif

/// The monotonic clock the conditions' timed waits count on, in nanoseconds.
public enum MonotonicTime {
    public static var now: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// `duration` in nanoseconds (none if negative, at most ~292 years).
    public static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole + UInt64(attoseconds / 1_000_000_000)
    }
}

/// A mutex with a condition variable (pthreads), for a thread that sleeps until work arrives: what
/// Foundation's `NSCondition` was. Lock, test the predicate, `wait()` in a loop, unlock.
public final class ThreadCondition: @unchecked Sendable {
    // @unchecked: the pthread mutex and condition are made for use from many threads; the pointers
    // are set once in init and freed in deinit.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        // Timed waits count on the monotonic clock (a wall-clock step must not cut or stretch them).
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deinitialize(count: 1)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Releases the lock while waiting for a signal; holds it again on return. Wakes spuriously too.
    public func wait() { pthread_cond_wait(condition, mutex) }
    /// As `wait()`, for at most `timeout`.
    public func wait(timeout: Duration) {
        wait(untilNanoseconds: MonotonicTime.now &+ MonotonicTime.nanoseconds(timeout))
    }
    /// As `wait()`, until the monotonic clock (`MonotonicTime.now`) reads `deadline` at most.
    public func wait(untilNanoseconds deadline: UInt64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &time)
    }
    /// Wakes one waiting thread (with the lock held, or after releasing it).
    public func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiting thread (call with the lock held).
    public func broadcast() { pthread_cond_broadcast(condition) }
}
