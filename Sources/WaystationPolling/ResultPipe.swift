import Logging
import Synchronization

/// Carries poll results from the bus threads to the monitor (one consuming task), and tells the
/// watchdog whether they are being taken in. Bounded: if the monitor stalls (a database that hangs),
/// the newest results are kept and the oldest dropped, counted and logged; the bus threads never wait.
final class ResultPipe: Sendable {
    private struct State {
        var continuation: AsyncStream<CycleResult>.Continuation?
        /// Results handed on and not yet taken in.
        var pending = 0
        /// Since when the oldest of them has waited (roughly: reset whenever one is taken in).
        var waitingSince: ContinuousClock.Instant?
        var dropped = 0
    }

    /// Results that may wait at once (a few seconds of a busy station).
    static let capacity = 64
    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// A new stream of results (the previous one, if any, is finished).
    func open() -> AsyncStream<CycleResult> {
        let (stream, continuation) = AsyncStream<CycleResult>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.capacity))
        let old = state.withLock { s in
            defer {
                s.continuation = continuation
                s.pending = 0
                s.waitingSince = nil
            }
            return s.continuation
        }
        old?.finish()
        return stream
    }

    /// Ends the stream once what it holds is taken in.
    func close() {
        state.withLock { s in
            defer { s.continuation = nil }
            return s.continuation
        }?.finish()
    }

    /// Hands a result on (from a bus thread); never waits.
    func send(_ result: CycleResult) {
        let dropped: Int? = state.withLock { s in
            guard let c = s.continuation else { return nil }
            switch c.yield(result) {
            case .enqueued:
                s.pending += 1
                if s.waitingSince == nil { s.waitingSince = ContinuousClock.now }
                return nil
            case .dropped:
                s.dropped += 1
                return s.dropped
            case .terminated:
                return nil
            @unknown default:
                return nil
            }
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
