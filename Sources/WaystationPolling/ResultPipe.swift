import Logging
import Synchronization

/// Carries poll results from the bus threads to the monitor (one consumer), and tells the watchdog
/// whether they are being taken in. Bounded: if the monitor stalls (a database that hangs), the
/// newest results are kept and the oldest dropped, counted and logged; the bus threads never wait.
///
/// Not an `AsyncStream` (its buffer and its nonisolated waits cost more than this): the consumer
/// waits with its own isolation, and a result resumes it on its task's executor (the monitor's
/// consumer runs with the station's thread as its preference, so a poll wakes that thread alone).
final class ResultPipe: Sendable {
    private struct State: ~Copyable {
        /// Results waiting, oldest first (at most `capacity`).
        var buffer: [CycleResult] = []
        var waiter: UnsafeContinuation<CycleResult?, Never>?
        var open = false
        /// Results handed on and not yet taken in.
        var pending = 0
        /// Since when the oldest of them has waited (roughly: reset whenever one is taken in).
        var waitingSince: ContinuousClock.Instant?
        var dropped = 0

        mutating func pop() -> CycleResult? { buffer.isEmpty ? nil : buffer.removeFirst() }
    }

    /// Results that may wait at once (a few seconds of a busy station).
    static let capacity = 64
    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Opens the pipe for a consumer (a consumer still waiting from before gets nil).
    func open() {
        let old = state.withLock { s in
            s.buffer.removeAll()
            s.open = true
            s.pending = 0
            s.waitingSince = nil
            defer { s.waiter = nil }
            return s.waiter
        }
        old?.resume(returning: nil)
    }

    /// Ends the pipe once what it holds is taken in.
    func close() {
        state.withLock { s in
            s.open = false
            defer { s.waiter = nil }
            return s.waiter
        }?.resume(returning: nil)
    }

    /// The next result, waiting for one; nil once the pipe is closed and empty. One consumer only.
    func next(isolation: isolated (any Actor)? = #isolation) async -> CycleResult? {
        await withUnsafeContinuation(isolation: isolation) { (c: UnsafeContinuation<CycleResult?, Never>) in
            let ready: CycleResult?? = state.withLock { s in
                if let result = s.pop() { return .some(result) }
                if !s.open { return .some(nil) }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Hands a result on (from a bus thread); never waits.
    func send(_ result: CycleResult) {
        let (waiter, dropped) = state.withLock { s -> (UnsafeContinuation<CycleResult?, Never>?, Int?) in
            guard s.open else { return (nil, nil) }
            s.pending += 1
            if s.waitingSince == nil { s.waitingSince = ContinuousClock.now }
            if let waiter = s.waiter {
                s.waiter = nil
                return (waiter, nil)
            }
            s.buffer.append(result)
            guard s.buffer.count > Self.capacity else { return (nil, nil) }
            _ = s.pop()
            s.pending -= 1
            s.dropped += 1
            return (nil, s.dropped)
        }
        if let waiter {
            waiter.resume(returning: result)
            return
        }
        if let dropped, dropped == 1 || dropped % 100 == 0 {
            logger.error(
                "poll results are not being taken in; the oldest waiting are dropped",
                metadata: ["dropped": "\(dropped)"])
        }
    }

    /// One result was taken in (after the monitor's ingest).
    func taken() {
        state.withLock { s in
            s.pending = max(0, s.pending - 1)
            s.waitingSince = s.pending > 0 ? ContinuousClock.now : nil
        }
    }

    /// Whether results have waited longer than `window` without one being taken in.
    func isStalled(within window: Duration) -> Bool {
        state.withLock { s in s.waitingSince.map { ContinuousClock.now - $0 > window } ?? false }
    }

    var droppedCount: Int { state.withLock { $0.dropped } }
}
