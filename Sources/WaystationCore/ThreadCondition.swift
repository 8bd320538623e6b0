import CShim

#if canImport(Glibc)
    import Glibc
#endif

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
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let (seconds, attoseconds) = max(timeout, .zero).components
        var nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        deadline.tv_nsec = nanoseconds
        pthread_cond_timedwait(condition, mutex, &deadline)
    }
    /// Wakes one waiting thread (call with the lock held).
    public func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiting thread (call with the lock held).
    public func broadcast() { pthread_cond_broadcast(condition) }
}
