import Synchronization
import WaystationCore

/// Answers a call from inside a handler: each reply is queued for the connection's own I/O (the
/// server's event loop), so a handler never blocks on a client that does not read. `send` returns
/// false once the client is gone or was dropped for not reading (its queue over the cap).
public final class ReplySink: Sendable {
    let connection: Int
    let oneway: Bool
    private let closed = Atomic<Bool>(false)
    /// Tasks waiting in `untilClosed`, resumed by `markClosed` (or their cancellation).
    private let waiters = Mutex<(done: Bool, next: Int, waiting: [Int: CheckedContinuation<Void, Never>])>(
        (false, 0, [:]))
    private let post: @Sendable (Int, [UInt8]) -> Void

    init(connection: Int, oneway: Bool, post: @escaping @Sendable (Int, [UInt8]) -> Void) {
        self.connection = connection
        self.oneway = oneway
        self.post = post
    }

    /// Queues a reply; false when the client is gone.
    @discardableResult
    public func send(_ reply: VarlinkReply) -> Bool {
        if closed.load(ordering: .acquiring) { return false }
        if !oneway { post(connection, reply.frame) }
        return true
    }

    /// Queues a typed reply (or an internal error if it cannot be encoded).
    @discardableResult
    public func send(_ reply: some Encodable, continues: Bool = false) -> Bool {
        do {
            return send(try VarlinkReply.ok(reply, continues: continues))
        } catch {
            return send(.error(StationError.internalError(error: "cannot encode the reply: \(error)").varlink))
        }
    }

    public func fail(_ error: VarlinkError) { send(.error(error)) }

    /// Whether the client hung up or was dropped.
    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    func markClosed() {
        closed.store(true, ordering: .releasing)
        let waiting = waiters.withLock { w in
            w.done = true
            defer { w.waiting.removeAll() }
            return Array(w.waiting.values)
        }
        for c in waiting { c.resume() }
    }

    /// Returns when the client hangs up or is dropped (at once if it has), or when the task is
    /// cancelled: a stream notices a client leaving without waking to look.
    public func untilClosed() async {
        let id = waiters.withLock { w in
            defer { w.next += 1 }
            return w.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = waiters.withLock { w in
                    if w.done || Task.isCancelled { return true }
                    w.waiting[id] = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            waiters.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Answers calls. A handler may send several replies for a call with `more`; it returns when the
/// call is over.
public protocol ControlHandler: Sendable {
    func handle(_ call: VarlinkCall, peer: Peer, replies: ReplySink) async
}
