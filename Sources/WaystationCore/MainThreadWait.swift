import Synchronization

/// Runs an async body on the concurrency pool while the calling (main) thread sleeps until it ends.
///
/// For a program's `main`, instead of an async `main`: Swift's async main ends the main thread in
/// libdispatch's `dispatch_main()`, whose `pthread_exit` unwinds the thread through the binary's
/// unwind tables (`.eh_frame_hdr`, `.eh_frame`), and the kernel keeps ~0.6 MiB of them mapped for
/// the life of the daemon for that one unwind (README, "Memory"). Nothing may run on the main
/// queue or the main actor then: no one drains them.
public enum MainThreadWait {
    public static func run(_ body: @escaping @Sendable () async throws -> Void) throws {
        let condition = ThreadCondition()
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        Task.detached {
            let result: Result<Void, any Error>
            do {
                try await body()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            condition.lock()
            outcome.withLock { $0 = result }
            condition.signal()
            condition.unlock()
        }
        condition.lock()
        var result = outcome.withLock { $0 }
        while result == nil {
            condition.wait()
            result = outcome.withLock { $0 }
        }
        condition.unlock()
        try result?.get()
    }
}
