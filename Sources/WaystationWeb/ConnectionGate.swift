import CShim
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What one listener lets in: open connections in all, and from one peer address. A connection past
/// either cap is closed as soon as it is accepted, so that its file descriptor is back at once.
public struct ListenerLimits: Sendable, Equatable {
    public var maxConnections: Int
    public var maxPerPeer: Int

    public init(maxConnections: Int, maxPerPeer: Int) {
        self.maxConnections = maxConnections
        self.maxPerPeer = maxPerPeer
    }
}

/// The web face's bounds (issue 25): nobody on either listener can take the kiosk offline by
/// holding sockets open, and the daemon link always finds a free file descriptor.
public struct WebLimits: Sendable, Equatable {
    /// A connection that has sent no complete request head this long after it opened is closed.
    public var headerTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request in flight this long is closed (an event stream in
    /// progress is a request in flight).
    public var idleTimeout: Duration = .seconds(30)
    /// Largest request body; a larger `Content-Length` is answered 413 before any of it is read.
    public var maxBody = KioskAPI.maxBody
    public var kiosk: ListenerLimits
    public var metrics: ListenerLimits

    /// Descriptors kept out of both caps: the daemon link (one per call in flight and the `Watch`),
    /// the listeners, the event loops' epoll and eventfds, stdio.
    public static let reservedFiles = 64

    /// Caps that fit under a file limit: `/metrics` (Prometheus keeps one or two connections) gets a
    /// small share, the kiosk listener the rest, up to 512, and `reservedFiles` stay free.
    public init(fileLimit: Int) {
        let budget = max(fileLimit - Self.reservedFiles, 16)
        let metrics = max(4, min(64, budget / 8))
        let kiosk = max(8, min(512, budget - metrics))
        self.metrics = ListenerLimits(maxConnections: metrics, maxPerPeer: max(2, min(8, metrics / 4)))
        self.kiosk = ListenerLimits(maxConnections: kiosk, maxPerPeer: max(4, min(64, kiosk / 4)))
    }

    /// The process's file limit, its soft limit raised to the hard one first.
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: min(limit.rlim_cur, 1 << 20))
    }
}

/// Counts one listener's open connections, in all and per peer address.
public final class ConnectionGate: Sendable {
    public let name: String
    public let limits: ListenerLimits
    let trimmer: HeapTrimmer
    private let state = Mutex<(open: Int, perPeer: [String: Int], refused: Int)>((0, [:], 0))

    init(name: String, limits: ListenerLimits, trimmer: HeapTrimmer) {
        self.name = name
        self.limits = limits
        self.trimmer = trimmer
    }

    /// Open connections and refused ones so far.
    public var figures: (open: Int, refused: Int) { state.withLock { ($0.open, $0.refused) } }

    /// Counts a new connection in; false (and not counted) when a cap is reached.
    func admit(_ peer: String) -> Bool {
        state.withLock { s in
            let mine = s.perPeer[peer] ?? 0
            guard s.open < limits.maxConnections, mine < limits.maxPerPeer else {
                s.refused += 1
                return false
            }
            s.open += 1
            s.perPeer[peer] = mine + 1
            return true
        }
    }

    func release(_ peer: String) {
        state.withLock { s in
            s.open -= 1
            let mine = (s.perPeer[peer] ?? 1) - 1
            s.perPeer[peer] = mine > 0 ? mine : nil
        }
    }

    /// A fresh handler for one accepted connection.
    func handler(_ limits: WebLimits) -> GateHandler {
        GateHandler(gate: self, headerTimeout: .init(limits.headerTimeout), maxBody: limits.maxBody)
    }
}

/// Gives freed heap back to the system once a burst of connections has closed: glibc keeps what a
/// thousand connections' buffers used unless asked (`malloc_trim`). One trim, a second after the
/// last of at least `burst` closes; nothing at all while connections come and go one by one.
final class HeapTrimmer: Sendable {
    static let burst = 32
    private let state = Mutex<(closed: Int, last: ContinuousClock.Instant, pending: Bool)>((0, .now, false))

    func connectionClosed(on loop: any EventLoop) {
        let schedule = state.withLock { s in
            s.closed += 1
            s.last = .now
            guard s.closed >= Self.burst, !s.pending else { return false }
            s.pending = true
            return true
        }
        if schedule { later(on: loop) }
    }

    private func later(on loop: any EventLoop) {
        loop.scheduleTask(in: .seconds(1)) { [self] in
            let quiet = state.withLock { s in
                guard ContinuousClock.now - s.last >= .seconds(1) else { return false }
                s.closed = 0
                s.pending = false
                return true
            }
            if quiet { _ = ws_malloc_trim() } else { later(on: loop) }
        }
    }
}

/// The gate at the door of every accepted connection: counts it in or closes it, closes it if no
/// request head arrives within the header timeout, and answers a request whose `Content-Length`
/// is over the limit with 413 at once (and closes: its body is never read).
final class GateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let gate: ConnectionGate
    let headerTimeout: TimeAmount
    let maxBody: Int
    private var peer: String?
    private var refused = false
    private var timer: Scheduled<Void>?
    /// A 413 went out: the rest of the input is dropped until the connection closes.
    private var discarding = false

    init(gate: ConnectionGate, headerTimeout: TimeAmount, maxBody: Int) {
        self.gate = gate
        self.headerTimeout = headerTimeout
        self.maxBody = maxBody
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard gate.admit(address) else {
            refused = true
            if context.channel.isActive { context.close(promise: nil) }
            return
        }
        peer = address
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: headerTimeout) { [weak self] in
            self?.timer = nil
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        if refused {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if let peer {
            self.peer = nil
            gate.release(peer)
            gate.trimmer.connectionClosed(on: context.eventLoop)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused || discarding { return }
        if case .head(let head) = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
            if let text = head.headerFields[.contentLength], Int(text).map({ $0 > maxBody }) ?? true {
                discarding = true
                tooLarge(context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    private func tooLarge(_ context: ChannelHandlerContext) {
        let body = ByteBuffer(string: #"{"error":"too_large","max_bytes":\#(maxBody)}"#)
        var fields: HTTPFields = [
            .contentType: "application/json; charset=utf-8", .contentLength: "\(body.readableBytes)",
            .connection: "close", .cacheControl: "no-store",
        ]
        fields[.xContentTypeOptions] = "nosniff"
        context.write(
            wrapOutboundOut(.head(HTTPResponse(status: .contentTooLarge, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
