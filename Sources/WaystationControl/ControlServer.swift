import CShim
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization
import WaystationCore

/// The control socket: varlink on a Unix stream socket, served by one I/O thread running `poll(2)`
/// over every connection. Nobody can stall the daemon through it: handlers run as tasks and queue
/// their replies, which the I/O thread writes when the client reads; a client whose unread output
/// passes a cap is dropped; connections are capped per uid (the kiosk and admins always get in),
/// idle ones time out, and messages from non-admins are kept small.
public final class ControlServer: Service, @unchecked Sendable {
    // @unchecked: `connections`, `nextID` and the descriptors are touched only by the I/O thread
    // (and by init before it starts); the mailbox is a Mutex; `stopping` is atomic.

    public struct Limits: Sendable {
        public var maxConnections = 512
        /// Reader connections of one uid.
        public var maxPerReaderUID = 32
        /// Connections kept free for kiosk and admin peers.
        public var reserved = 64
        public var idleTimeout: Duration = .seconds(60)
        public var adminMessageBytes = 1 << 20
        public var messageBytes = 64 << 10
        /// Unread replies of one connection beyond this drop it.
        public var maxQueuedOutput = 4 << 20
        public init() {}
    }

    private let handler: any ControlHandler
    private let logger: Logger
    private let limits: Limits
    private let policy: Mutex<RolePolicy>
    private let listenFD: Int32
    /// Set when the socket was passed by systemd: it must only be closed, never shut down or unlinked.
    private let inherited: Bool
    private let ownedPath: String?
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let mailbox = Mutex<[(Int, [UInt8]?)]>([])
    private let stopping = Atomic<Bool>(false)
    private var connections: [Int: ControlConnection] = [:]
    private var nextID = 1
    /// Connections closed since the heap was last trimmed.
    private var closedSinceTrim = 0
    /// When the heap is trimmed after a burst: a quiet second after its last client closed.
    private var trimDue: ContinuousClock.Instant?
    /// After a burst of this many clients, the heap they used is given back a second after the last
    /// of them closed, when at most `trimLowWater` connections are left (waystation-web's `Watch`
    /// and a few like it stay).
    static let trimAfter = 64
    static let trimLowWater = 8
    static let trimQuiet: Duration = .seconds(1)
    /// Calls handled at once (streams aside); the rest wait, unread, until one ends. 250 calls alive
    /// at once left the heap fragmented (+1.2 MiB resident, 0.4 MiB in use: malloc_stats).
    static let maxRunningCalls = 16
    private var runningCalls = 0
    private let stats = Mutex<(open: Int, refused: Int, dropped: Int)>((0, 0, 0))

    /// Listens now (before READY): on the socket systemd passed (`LISTEN_FDS`, fd 3), or on `path`
    /// with mode 0660.
    public init(
        path: String, policy: RolePolicy, handler: any ControlHandler, limits: Limits = Limits(), logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.handler = handler
        self.logger = logger
        self.limits = limits
        self.policy = Mutex(policy)
        if let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
        {
            listenFD = 3
            inherited = true
            ownedPath = nil
            _ = fcntl(3, F_SETFD, FD_CLOEXEC)
            logger.info("control socket passed by systemd", metadata: ["fd": "3"])
        } else {
            listenFD = try Self.bind(path: path)
            inherited = false
            ownedPath = path
            logger.info("control socket listening", metadata: ["path": "\(path)"])
        }
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        var fds: [Int32] = [-1, -1]
        guard ws_pipe_nonblocking(&fds) == 0 else {
            throw ControlError("control socket: cannot create a wake-up pipe: \(String(cString: strerror(errno)))")
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    static func bind(path: String) throws -> Int32 {
        let dir = PathText.parent(path)
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let old = umask(0o117)
        defer { umask(old) }
        do {
            let fd = try UnixSocketAddress.listen(path: path, backlog: 128)
            chmod(path, 0o660)
            return fd
        } catch {
            throw ControlError("control socket: \(error)")
        }
    }

    /// New role groups after a reload.
    public func update(policy new: RolePolicy) { policy.withLock { $0 = new } }

    /// Open connections, refused and dropped ones so far (figures, tests).
    public var figures: (open: Int, refused: Int, dropped: Int) { stats.withLock { $0 } }

    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                OSThread.start(name: "control-io", stackSize: 256 << 10) { [self] in
                    loop()
                    done.resume()
                }
            }
        } onCancelOrGracefulShutdown: { [self] in
            stop()
        }
    }

    /// Stops the loop; it closes every connection and the listening socket.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func post(_ id: Int, _ bytes: [UInt8]?) {
        mailbox.withLock { $0.append((id, bytes)) }
        wake()
    }

    // MARK: The I/O thread

    private func loop() {
        while !stopping.load(ordering: .acquiring) {
            var fds = [
                pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            var polled: [(id: Int, index: Int)] = []
            for c in connections.values {
                var events: Int16 = 0
                // Read only while the input fits: a flood waits in the kernel, not in our memory.
                if !c.peerDone && c.reader.buffered <= c.reader.limit { events |= Int16(POLLIN) | WS_POLLRDHUP }
                if !c.output.isEmpty { events |= Int16(POLLOUT) }
                // A peer that hung up is only waited on for output (else POLLHUP would spin the loop).
                if c.peerDone && events == 0 { continue }
                polled.append((c.id, fds.count))
                fds.append(pollfd(fd: c.fd, events: events, revents: 0))
            }
            let n = poll(&fds, nfds_t(fds.count), idleWait())
            if n < 0, errno != EINTR { OSThread.sleep(.milliseconds(10)) }
            if fds[1].revents != 0 { drainWake() }
            deliverMail()
            for (id, index) in polled {
                guard let c = connections[id] else { continue }
                let revents = fds[index].revents
                let readable = Int16(POLLIN) | WS_POLLRDHUP | Int16(POLLHUP) | Int16(POLLERR)
                if revents & readable != 0 {
                    if !c.fill() { c.peerDone = true }
                    if revents & (Int16(POLLHUP) | Int16(POLLERR)) != 0 { c.peerDone = true }
                }
                if revents & Int16(POLLOUT) != 0, !c.flush() {
                    drop(c, why: "send failed: \(String(cString: strerror(errno)))", quiet: true)
                    continue
                }
            }
            for c in Array(connections.values) { process(c) }
            if fds[0].revents & Int16(POLLIN) != 0 { acceptAll() }
            expireIdle()
            trimIfDue()
        }
        for c in Array(connections.values) { drop(c, why: nil) }
        close(listenFD)  // never shutdown(): an inherited socket stays alive in systemd for the next start
        if let ownedPath { unlink(ownedPath) }
        close(wakeRead)
        close(wakeWrite)
    }

    private func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    /// Replies queued by handlers; nil bytes: the call is over.
    private func deliverMail() {
        let mail = mailbox.withLock { m in
            defer { m.removeAll(keepingCapacity: true) }
            return m
        }
        for (id, bytes) in mail {
            guard let c = connections[id] else { continue }
            if let bytes {
                c.enqueue(bytes)
                if c.queuedBytes > limits.maxQueuedOutput {
                    drop(c, why: "not reading its replies (over \(limits.maxQueuedOutput >> 10) KiB queued)")
                    continue
                }
            } else {
                c.busy = false
                c.streaming = false
                c.lastMessage = .now
                release(c)
            }
            if !c.flush() { drop(c, why: "send failed: \(String(cString: strerror(errno)))", quiet: true) }
        }
    }

    /// Starts the next call of a connection, or closes it when it is finished.
    private func process(_ c: ControlConnection) {
        guard connections[c.id] != nil else { return }
        if c.peerDone && c.streaming {
            drop(c, why: nil)
            return
        }
        var waiting = false
        while !c.busy && !c.closeAfterFlush {
            if runningCalls >= Self.maxRunningCalls {
                waiting = c.reader.buffered > 0
                break
            }
            let message: ArraySlice<UInt8>?
            do {
                message = try c.reader.next()
            } catch {
                c.enqueue(
                    VarlinkReply.error(
                        .invalidParameter("message", reason: "message larger than \(c.reader.limit) bytes")
                    ).frame)
                c.closeAfterFlush = true
                break
            }
            guard let message else { break }
            c.lastMessage = .now
            switch VarlinkCall.parse(message) {
            case .failure(let error):
                c.enqueue(VarlinkReply.error(error).frame)
                c.closeAfterFlush = true
            case .success(let call):
                start(call, on: c)
            }
        }
        if !c.flush() {
            drop(c, why: "send failed (process)", quiet: true)
            return
        }
        if c.output.isEmpty && !c.busy && !waiting && (c.closeAfterFlush || c.peerDone) { drop(c, why: nil) }
    }

    /// A call ended (or its connection went): its running-call place is free.
    private func release(_ c: ControlConnection) {
        guard c.holdsPlace else { return }
        c.holdsPlace = false
        runningCalls -= 1
    }

    private func start(_ call: VarlinkCall, on c: ControlConnection) {
        c.busy = true
        c.streaming = call.more
        if !call.more {
            c.holdsPlace = true
            runningCalls += 1
        }
        let sink = ReplySink(connection: c.id, oneway: call.oneway) { [weak self] id, bytes in
            self?.post(id, bytes)
        }
        c.sink = sink
        let handler = self.handler
        let peer = c.peer
        let id = c.id
        Task { [weak self] in
            await handler.handle(call, peer: peer, replies: sink)
            self?.post(id, nil)
        }
    }

    private func acceptAll() {
        while true {
            let fd = ws_accept_nonblocking(listenFD)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let policy = self.policy.withLock { $0 }
            guard let peer = Peer.of(fd: fd, policy: policy) else {
                close(fd)
                continue
            }
            if let why = refusal(peer) {
                stats.withLock { $0.refused += 1 }
                // One short error, then the door: the client learns why instead of a bare reset.
                let frame = VarlinkReply.error(
                    VarlinkError("org.varlink.service.PermissionDenied", ["reason": .string(why)])
                ).frame
                _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                close(fd)
                continue
            }
            // The uplink carries the hub's changes (DistrictApply): admin-sized messages.
            let limit = peer.role == .admin || peer.role == .uplink ? limits.adminMessageBytes : limits.messageBytes
            let c = ControlConnection(id: nextID, fd: fd, peer: peer, messageLimit: limit, now: .now)
            nextID += 1
            connections[c.id] = c
            stats.withLock { $0.open = connections.count }
        }
    }

    /// Why a new peer may not stay, or nil.
    private func refusal(_ peer: Peer) -> String? {
        if connections.count >= limits.maxConnections { return "too many connections" }
        guard peer.role == .reader else { return nil }
        if connections.count >= limits.maxConnections - limits.reserved {
            return "too many connections (the rest are kept for the kiosk and admins)"
        }
        let mine = connections.values.filter { $0.peer.uid == peer.uid }.count
        if mine >= limits.maxPerReaderUID { return "uid \(peer.uid) has \(mine) connections open already" }
        return nil
    }

    /// How long `poll` may wait: until the first idle client is due to be dropped, or for ever
    /// when none is (a busy client's reply and `stop` ring the wake pipe), so an idle station's
    /// control thread does not wake every second for nothing.
    private func idleWait() -> Int32 {
        var first: ContinuousClock.Instant?
        for c in connections.values where !c.busy {
            let due = c.lastMessage + limits.idleTimeout
            if first.map({ due < $0 }) ?? true { first = due }
        }
        if let trimDue, first.map({ trimDue < $0 }) ?? true { first = trimDue }
        guard let first else { return -1 }
        let left = first - ContinuousClock.now
        if left <= .zero { return 0 }
        // Past the due time (the milliseconds truncated, plus two): waking a hair early would find
        // nothing due and spin until it is.
        return Int32(clamping: left.milliseconds + 2)
    }

    private func expireIdle() {
        let now = ContinuousClock.now
        for c in Array(connections.values) where !c.busy && now - c.lastMessage > limits.idleTimeout {
            drop(c, why: "idle for \(DurationParser.format(limits.idleTimeout))", quiet: true)
        }
    }

    /// A burst of clients is over and the socket has been quiet for `trimQuiet`: glibc keeps the heap
    /// their buffers and replies used unless asked to give it back (on this thread, a millisecond or
    /// so, with no client waiting). A new burst meanwhile puts it off.
    private func trimIfDue() {
        guard let due = trimDue, ContinuousClock.now >= due else { return }
        trimDue = nil
        guard connections.count <= Self.trimLowWater else { return }
        closedSinceTrim = 0
        _ = ws_malloc_trim()
    }

    private func drop(_ c: ControlConnection, why: String?, quiet: Bool = false) {
        guard connections.removeValue(forKey: c.id) != nil else { return }
        release(c)
        c.sink?.markClosed()
        close(c.fd)
        stats.withLock {
            $0.open = connections.count
            if why != nil { $0.dropped += 1 }
        }
        closedSinceTrim += 1
        if connections.count <= Self.trimLowWater && closedSinceTrim >= Self.trimAfter {
            trimDue = .now + Self.trimQuiet
        }
        if let why {
            logger.notice(
                "control client dropped", metadata: ["uid": "\(c.peer.uid)", "pid": "\(c.peer.pid)", "why": "\(why)"])
        }
    }
}

/// A problem with the control socket itself.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
