import Foundation
import Synchronization
import Testing
import WaystationCore

/// The station's thread keeps the daemon's periodic timers (the alert stand-in, systemd's watchdog
/// and status, visit upkeep, the notifier's retries), so that they wake neither libdispatch's manager
/// thread nor a pool thread. A timer that never fires would stop the watchdog ping (systemd then
/// restarts the station) or an alert's tick; one that cannot be cancelled would hold up a reload or
/// shutdown.
@Suite("Thread executor: timers on a dedicated thread")
struct ThreadExecutorTests {
    /// The name of the thread running the caller.
    static func threadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `body` in a task that prefers `executor` (none: the pool), its result or nil if it is not done
    /// within `limit`.
    static func within<T: Sendable>(
        _ limit: Duration, on executor: ThreadExecutor?, _ body: @escaping @Sendable () async throws -> T
    ) async -> Result<T, any Error>? {
        let task = Task(executorPreference: executor) { () -> Result<T, any Error> in
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        return await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask { await task.value }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            // Out of time: the task is cancelled too, or the group would wait for it.
            if first == nil { task.cancel() }
            group.cancelAll()
            return first
        }
    }

    @Test("a sleep lasts its duration at least, and the task goes on on the executor's thread")
    func sleepsOnTheThread() async throws {
        let executor = ThreadExecutor(name: "ws-timer-a")
        defer { executor.stop() }
        let outcome = await Self.within(.seconds(60), on: executor) { () -> (Duration, String) in
            let start = ContinuousClock.now
            try await executor.sleep(for: .milliseconds(150))
            return (ContinuousClock.now - start, Self.threadName())
        }
        let (slept, thread) = try #require(try outcome?.get(), "the sleep never ended")
        #expect(slept >= .milliseconds(150), "woke after \(slept), before its time")
        #expect(thread == "ws-timer-a", "went on on thread \(thread), not the executor's")
    }

    @Test("with a tolerance, the thread's next wake-up takes a timer that is due")
    func toleranceCoalesces() async throws {
        let executor = ThreadExecutor(name: "ws-timer-b")
        defer { executor.stop() }
        let sleeper = Task(executorPreference: executor) {
            // Due in 50 ms, but the thread need not wake for it before 10 minutes have passed.
            try await executor.sleep(for: .milliseconds(50), tolerance: .seconds(600))
        }
        try await Task.sleep(for: .milliseconds(200))
        // Past its due time, any work on the thread (here an empty task) fires it.
        await Task(executorPreference: executor) {}.value
        let ended = await Self.within(.seconds(60), on: executor) {
            try await withTaskCancellationHandler {
                try await sleeper.value
            } onCancel: {
                sleeper.cancel()
            }
        }
        #expect(ended != nil, "a due timer waited for its tolerance although the thread woke")
    }

    @Test("timers fire in the order they fall due")
    func order() async throws {
        let executor = ThreadExecutor(name: "ws-timer-c")
        defer { executor.stop() }
        let outcome = await Self.within(.seconds(60), on: executor) { () -> [Int] in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for (n, ms) in [(3, 300), (1, 100), (2, 200)] {
                    group.addTask {
                        try await executor.sleep(for: .milliseconds(ms))
                        return n
                    }
                }
                var order: [Int] = []
                for try await n in group { order.append(n) }
                return order
            }
        }
        #expect(try outcome?.get() == [1, 2, 3])
    }

    @Test("cancelling a sleeping task ends its sleep at once, with CancellationError; so does a cancelled one sleeping")
    func cancellation() async throws {
        let executor = ThreadExecutor(name: "ws-timer-d")
        defer { executor.stop() }
        let task = Task(executorPreference: executor) { try await executor.sleep(for: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let ended = await Self.within(.seconds(60), on: executor) { try await task.value }
        let outcome = try #require(ended, "a cancelled sleep went on (a service that cannot stop)")
        #expect(throws: CancellationError.self) { try outcome.get() }

        let already = await Self.within(.seconds(60), on: executor) {
            withUnsafeCurrentTask { $0?.cancel() }
            try await executor.sleep(for: .seconds(3600))
        }
        let early = try #require(already, "a task cancelled before it slept slept anyway")
        #expect(throws: CancellationError.self) { try early.get() }
    }

    @Test("stopping the executor ends the sleeps still waiting, with CancellationError")
    func stopEndsSleeps() async throws {
        let executor = ThreadExecutor(name: "ws-timer-e")
        let task = Task { try await executor.sleep(for: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(50))
        executor.stop()
        let outcome = try #require(
            await Self.within(.seconds(60), on: nil) { try await task.value }, "a sleep outlived its executor")
        #expect(throws: CancellationError.self) { try outcome.get() }
    }
}
