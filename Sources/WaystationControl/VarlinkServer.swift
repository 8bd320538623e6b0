import WaystationCore
import Foundation
import Logging

/// One varlink call as received.
public struct VarlinkCall: Sendable {
    /// Fully qualified: `interface.Method`.
    public var method: String
    public var parameters: [String: JSON]
    public var more: Bool
    public var oneway: Bool

    public var interface: String {
        guard let dot = method.lastIndex(of: ".") else { return "" }
        return String(method[..<dot])
    }

    public var member: String {
        guard let dot = method.lastIndex(of: ".") else { return method }
        return String(method[method.index(after: dot)...])
    }
}

/// A reply, or a varlink error.
public struct VarlinkReply: Sendable {
    public var parameters: JSON
    public var error: String?
    public var continues: Bool

    public static func ok(_ parameters: JSON = [:], continues: Bool = false) -> VarlinkReply {
        VarlinkReply(parameters: parameters, error: nil, continues: continues)
    }

    public static func error(_ name: String, _ parameters: JSON = [:]) -> VarlinkReply {
        VarlinkReply(parameters: parameters, error: name, continues: false)
    }

    var json: JSON {
        var object: [String: JSON] = ["parameters": parameters]
        if let error { object["error"] = .string(error) }
        if continues { object["continues"] = true }
        return .object(object)
    }
}

/// What a connection can do for a service while it handles a call.
public protocol VarlinkConnection: Sendable {
    /// Sends one reply; false when the client is gone.
    func send(_ reply: VarlinkReply) -> Bool
    /// Whether the client hung up.
    var isClosed: Bool { get }
}

/// Answers calls. `handle` may send several replies for a call with `more`.
public protocol VarlinkService: Sendable {
    func handle(_ call: VarlinkCall, peer: PeerCredentials, connection: any VarlinkConnection) async
}

/// A varlink server on a Unix stream socket: NUL-terminated JSON messages, a thread per client
/// (a slow or stuck client holds only its own thread), a size limit per message, and
/// send timeouts so a client that stops reading is dropped.
public final class VarlinkServer: @unchecked Sendable {
    // @unchecked: `listenFD`, `connections` and `stopped` are guarded by `lock`.
    public static let maxMessageBytes = 1 << 20
    public static let maxConnections = 512

    private let service: any VarlinkService
    private let logger: Logger
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var connections: [Int32: Connection] = [:]
    private var stopped = false
    private var ownsPath: String?

    public init(service: any VarlinkService, logger: Logger) {
        self.service = service
        self.logger = logger
    }

    /// Open connections now (for tests and figures).
    public var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.count
    }

    /// Listens on an inherited socket (systemd socket activation: `LISTEN_FDS`, fd 3), or binds `path`
    /// with mode 0660.
    public func start(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let fd: Int32
        if let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
        {
            fd = 3
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            logger.info("control socket passed by systemd", metadata: ["fd": "3"])
        } else {
            fd = try Self.bind(path: path)
            ownsPath = path
            logger.info("control socket listening", metadata: ["path": "\(path)"])
        }
        lock.lock()
        listenFD = fd
        lock.unlock()
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "control-accept"
        thread.start()
    }

    static func bind(path: String) throws -> Int32 {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let old = umask(0o117)
        defer { umask(old) }
        let fd: Int32
        do {
            fd = try UnixSocketAddress.listen(path: path, backlog: 128)
        } catch {
            throw ControlError("control socket: \(error)")
        }
        chmod(path, 0o660)
        return fd
    }

    /// Stops accepting and closes every connection.
    public func stop() {
        lock.lock()
        stopped = true
        let fd = listenFD
        listenFD = -1
        let open = Array(connections.values)
        lock.unlock()
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
        for c in open { c.hangUp() }
        if let ownsPath { unlink(ownsPath) }
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                lock.lock()
                let done = stopped
                lock.unlock()
                if done { return }
                if errno == EINTR || errno == ECONNABORTED { continue }
                // Out of descriptors or similar: back off briefly rather than spin.
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            lock.lock()
            if stopped || connections.count >= Self.maxConnections {
                lock.unlock()
                close(client)
                continue
            }
            let connection = Connection(fd: client)
            connections[client] = connection
            lock.unlock()
            Thread.detachNewThread { [self] in
                serve(connection)
                lock.lock()
                connections[client] = nil
                lock.unlock()
                connection.close()
            }
        }
    }

    private func serve(_ connection: Connection) {
        guard let peer = PeerCredentials.of(fd: connection.fd) else { return }
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            // Frame every complete message already received.
            while let nul = pending.firstIndex(of: 0) {
                let message = Data(pending[..<nul])
                pending.removeSubrange(...nul)
                if !dispatch(message, peer: peer, connection: connection) { return }
            }
            if pending.count > Self.maxMessageBytes {
                _ = connection.send(
                    .error(
                        "org.varlink.service.InvalidParameter",
                        [
                            "parameter": "message",
                            "reason": .string("message larger than \(Self.maxMessageBytes) bytes"),
                        ]))
                return
            }
            let n = read(connection.fd, &buffer, buffer.count)
            if n <= 0 { return }
            pending += buffer[0..<n]
        }
    }

    /// Handles one message; false to close the connection.
    private func dispatch(_ data: Data, peer: PeerCredentials, connection: Connection) -> Bool {
        guard let json = JSON.parse(data), case .object(let object) = json else {
            _ = connection.send(
                .error("org.varlink.service.InvalidParameter", ["parameter": "message", "reason": "not a JSON object"]))
            return false
        }
        guard let method = object["method"]?.string, !method.isEmpty else {
            _ = connection.send(.error("org.varlink.service.InvalidParameter", ["parameter": "method"]))
            return false
        }
        var parameters: [String: JSON] = [:]
        if let p = object["parameters"] {
            guard case .object(let o) = p else {
                _ = connection.send(.error("org.varlink.service.InvalidParameter", ["parameter": "parameters"]))
                return true
            }
            parameters = o
        }
        let call = VarlinkCall(
            method: method, parameters: parameters, more: object["more"]?.bool ?? false,
            oneway: object["oneway"]?.bool ?? false)
        let target: any VarlinkConnection = call.oneway ? OnewayConnection(base: connection) : connection
        let done = DispatchSemaphore(value: 0)
        let service = self.service
        // The handler runs on the concurrency pool; this client's own thread waits for it.
        Task {
            await service.handle(call, peer: peer, connection: target)
            done.signal()
        }
        done.wait()
        return !connection.isClosed
    }

    final class Connection: VarlinkConnection, @unchecked Sendable {
        // @unchecked: writes are serialised by `lock`; `closed` is guarded by it too.
        let fd: Int32
        private let lock = NSLock()
        private var closed = false

        init(fd: Int32) {
            self.fd = fd
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        func send(_ reply: VarlinkReply) -> Bool {
            var bytes = Array(reply.json.text.utf8)
            bytes.append(0)
            lock.lock()
            defer { lock.unlock() }
            if closed { return false }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return -1 }
                    return Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 {
                    // Gone, or not reading for the send timeout: drop it.
                    closed = true
                    shutdown(fd, Int32(SHUT_RDWR))
                    return false
                }
                offset += n
            }
            return true
        }

        var isClosed: Bool {
            lock.lock()
            let known = closed
            lock.unlock()
            if known { return true }
            // A peek that reads end-of-file means the client hung up.
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        }

        func hangUp() {
            lock.lock()
            closed = true
            lock.unlock()
            shutdown(fd, Int32(SHUT_RDWR))
        }

        func close() {
            Glibc.close(fd)
        }
    }

    /// Discards replies to a `oneway` call.
    struct OnewayConnection: VarlinkConnection {
        let base: Connection
        func send(_ reply: VarlinkReply) -> Bool { !base.isClosed }
        var isClosed: Bool { base.isClosed }
    }
}

/// A problem with the control socket itself.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
