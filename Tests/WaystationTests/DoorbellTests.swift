import Synchronization
import Testing
import WaystationCore

/// The notifier waits on a doorbell instead of polling the outbox: a lost ring would hold an alert
/// back until the fallback look, so these pin that no ring is lost and that nothing hangs.
@Suite("Doorbell: wake-ups without polling")
struct DoorbellTests {
    /// Keeps the waits' timers (the daemon's station thread in the daemon).
    static let timers = ThreadExecutor(name: "doorbell tests")

    @Test("a ring while nobody waits is kept for the next wait")
    func ringBeforeWait() async {
        let bell = Doorbell()
        bell.ring()
        let woke = await wokeBeforeTimeout(bell, timeout: .seconds(60))
        #expect(woke, "the earlier ring was lost: the waiter slept until its timeout")
    }

    @Test("a ring wakes a waiter that is already waiting, and every waiter")
    func ringWakesAll() async {
        let bell = Doorbell()
        let woken = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await bell.wait(timeout: .seconds(60), timers: Self.timers)
                    woken.value.add(1, ordering: .relaxed)
                }
            }
            // Ring until all three are through (a ring may land before some of them wait: kept).
            let deadline = ContinuousClock.now + .seconds(20)
            while woken.value.load(ordering: .relaxed) < 3, ContinuousClock.now < deadline {
                bell.ring()
                try? await Task.sleep(for: .milliseconds(10))
            }
            group.cancelAll()
        }
        #expect(woken.value.load(ordering: .relaxed) == 3)
    }

    @Test("with no ring, a wait ends at its timeout; one ring is used up by one wait")
    func timeoutAndConsumed() async {
        let bell = Doorbell()
        bell.ring()
        await bell.wait(timeout: .seconds(60), timers: Self.timers)  // uses the ring
        let start = ContinuousClock.now
        await bell.wait(timeout: .milliseconds(200), timers: Self.timers)
        #expect(ContinuousClock.now - start >= .milliseconds(150), "the used-up ring woke a second wait")
    }

    @Test("cancelling the waiting task ends the wait")
    func cancellation() async {
        let bell = Doorbell()
        let task = Task { await bell.wait(timeout: .seconds(600), timers: Self.timers) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(30))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(ended, "a cancelled waiter stayed asleep (a notifier that cannot stop on reload)")
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private func wokeBeforeTimeout(_ bell: Doorbell, timeout: Duration) async -> Bool {
        let start = ContinuousClock.now
        await bell.wait(timeout: timeout, timers: Self.timers)
        return ContinuousClock.now - start < timeout
    }
}
