#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import WaystationCore

/// Where a webhook or Alertmanager target lives: `http://[user:password@]host[:port]/path`.
public struct HTTPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String
    /// `Basic …` when the URL carries credentials.
    var authorization: String?

    public enum Invalid: Error, CustomStringConvertible {
        case unsupported(String)
        public var description: String {
            switch self {
            case .unsupported(let why): why
            }
        }
    }

    public init(url text: String) throws(Invalid) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw .unsupported("not a URL: \(Self.redact(text))")
        }
        guard scheme == "http" else {
            throw .unsupported(
                "\(scheme):// is not supported by the built-in client (http:// only); reach a TLS receiver through a local proxy or a VPN, or use an exec target"
            )
        }
        guard let host = url.host, !host.isEmpty else { throw .unsupported("no host in \(Self.redact(text))") }
        self.host = host
        port = url.port ?? 80
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        self.path = path
        if let user = url.user {
            let credentials = "\(user):\(url.password ?? "")"
            authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        }
    }

    /// The endpoint with a different path (Alertmanager's `/api/v2/alerts`).
    public func with(path: String) -> HTTPEndpoint {
        var copy = self
        copy.path = path
        return copy
    }

    /// Never shows credentials.
    public var description: String { "http://\(host):\(port)\(path)" }

    /// A URL as logs may show it: the password replaced by `***`.
    public static func redact(_ url: String) -> String { HTTPRedaction.redact(url) }
}

/// Why a delivery failed. `permanent`: the receiver refused this notification itself (a 4xx other
/// than 408 or 429); retrying the same body will not help.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var permanent = false
    init(_ d: String, permanent: Bool = false) {
        description = d
        self.permanent = permanent
    }
}

/// A minimal HTTP/1.1 POST client for notifications, on its own thread (blocking socket calls
/// never run on Swift's shared pool): one request per connection, a total deadline for the whole
/// exchange (name lookup, connect, send, answer), no redirects, and a capped response read (the
/// status line is all that matters). `interrupt()` (a stop) ends the exchange in progress at once.
public actor HTTPPoster {
    private let thread: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    /// The most of an answer that is read.
    static let maxResponse = 16 << 10
    /// A pipe every wait also watches: a byte written ends the exchange in progress.
    private nonisolated let wake: (read: Int32, write: Int32)

    public init(name: String) {
        thread = ThreadExecutor(name: "notify-\(name)", stackSize: 256 << 10)
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        wake = (fds[0], fds[1])
    }

    deinit {
        thread.stop()
        if wake.read >= 0 { close(wake.read) }
        if wake.write >= 0 { close(wake.write) }
    }

    /// Ends the exchange in progress (or the next one) with a failure, whatever the receiver does.
    public nonisolated func interrupt() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// POSTs like `post`, ended at once when the calling task is cancelled.
    public nonisolated func postCancellable(
        _ endpoint: HTTPEndpoint, body: [UInt8], idempotencyKey: String? = nil, timeout: Duration
    ) async throws -> Int {
        try await withTaskCancellationHandler {
            try await post(endpoint, body: body, idempotencyKey: idempotencyKey, timeout: timeout)
        } onCancel: {
            interrupt()
        }
    }

    /// POSTs `body` as JSON; returns the status code. Throws when no answer came within `timeout`.
    /// `idempotencyKey`, when given, goes out as `Idempotency-Key`: the same for every attempt of one
    /// notification, so a receiver can drop a copy sent again after a crash.
    public func post(
        _ endpoint: HTTPEndpoint, body: [UInt8], idempotencyKey: String? = nil, timeout: Duration
    ) throws(HTTPFailure) -> Int {
        let deadline = ContinuousClock.now + timeout
        // An interrupt meant for an earlier exchange is forgotten; one for this task is not.
        var drain = [UInt8](repeating: 0, count: 64)
        while read(wake.read, &drain, drain.count) > 0 {}
        if Task.isCancelled { throw HTTPFailure("stopped") }
        let fd = try connect(endpoint, deadline: deadline, timeout: timeout)
        defer { close(fd) }
        var head = "POST \(endpoint.path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\n"
        head += "User-Agent: waystationd/\(WaystationVersion.string)\r\nContent-Type: application/json\r\n"
        if let auth = endpoint.authorization { head += "Authorization: \(auth)\r\n" }
        if let key = idempotencyKey { head += "Idempotency-Key: \(key)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        try send(fd, Array(head.utf8) + body, deadline: deadline)
        let answer = try receiveHead(fd, deadline: deadline)
        // "HTTP/1.1 200 OK"
        let line = answer.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) else {
            throw HTTPFailure("not an HTTP answer from \(endpoint)")
        }
        return code
    }

    private func remaining(_ deadline: ContinuousClock.Instant) throws(HTTPFailure) -> Int32 {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw HTTPFailure("no answer within the timeout") }
        return Int32(clamping: max(1, left.milliseconds))
    }

    private func wait(_ fd: Int32, _ events: Int16, deadline: ContinuousClock.Instant) throws(HTTPFailure) {
        while true {
            var p = [
                pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
            ]
            let n = poll(&p, 2, try remaining(deadline))
            if n > 0, p[1].revents != 0 { throw HTTPFailure("stopped") }
            if n > 0 { return }
            if n == 0 { throw HTTPFailure("no answer within the timeout") }
            if errno != EINTR { throw HTTPFailure("poll: \(String(cString: strerror(errno)))") }
        }
    }

    private func connect(_ endpoint: HTTPEndpoint, deadline: ContinuousClock.Instant, timeout: Duration)
        throws(HTTPFailure) -> Int32
    {
        // The name lookup is inside the deadline too (a silent name server takes 10 s per server).
        let first: UnsafeMutablePointer<addrinfo>
        do {
            first = try NameLookup.resolve(
                host: endpoint.host, port: endpoint.port, deadline: deadline, interrupt: wake.read)
        } catch {
            throw HTTPFailure(
                error.timedOut
                    ? "no answer from the name server for \(endpoint.host) within the \(DurationParser.format(timeout)) timeout"
                    : error.description)
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(
                ai.pointee.ai_family,
                ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            if fd < 0 { continue }
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
            if errno != EINPROGRESS {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            do {
                try wait(fd, Int16(POLLOUT), deadline: deadline)
            } catch {
                close(fd)
                throw HTTPFailure("connecting to \(endpoint): \(error)")
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err == 0 { return fd }
            lastError = String(cString: strerror(err))
            close(fd)
        }
        throw HTTPFailure("cannot connect to \(endpoint): \(lastError)")
    }

    private func send(_ fd: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(HTTPFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
            } else if n < 0, errno == EAGAIN || errno == EINTR {
                try wait(fd, Int16(POLLOUT), deadline: deadline)
            } else {
                throw HTTPFailure("sending: \(String(cString: strerror(errno)))")
            }
        }
    }

    private func receiveHead(_ fd: Int32, deadline: ContinuousClock.Instant) throws(HTTPFailure) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.count < Self.maxResponse {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                data += buffer[0..<n]
                if data.count >= 4, data.firstRange(of: [13, 10, 13, 10]) != nil { break }
            } else if n == 0 {
                break
            } else if errno == EAGAIN || errno == EINTR {
                try wait(fd, Int16(POLLIN), deadline: deadline)
            } else {
                throw HTTPFailure("reading the answer: \(String(cString: strerror(errno)))")
            }
        }
        return String(decoding: data, as: UTF8.self)
    }
}
