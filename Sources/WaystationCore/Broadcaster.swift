import Synchronization

/// Fans events out to any number of subscribers, each an `AsyncStream` that keeps the newest
/// `buffer` events when its reader falls behind (a slow subscriber never blocks the publisher).
public final class Broadcaster<Event: Sendable>: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<Event>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)
    private let buffer: Int

    public init(buffer: Int = 256) {
        self.buffer = buffer
    }

    /// A stream of events from now on; it ends (and is forgotten) when its consumer stops iterating.
    public func subscribe() -> AsyncStream<Event> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ event: Event) {
        let all = subscribers.withLock { Array($0.values) }
        for c in all { c.yield(event) }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Ends every stream (on shutdown).
    public func finish() {
        let all = subscribers.withLock { s in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for c in all { c.finish() }
    }
}
