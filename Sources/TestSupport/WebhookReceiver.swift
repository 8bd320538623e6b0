import Foundation

/// A small HTTP server that records POSTed bodies: stands in for the district's Alertmanager or
/// webhook receiver in tests and the benchmark. It can be told to refuse (503) for a while.
public final class WebhookReceiver: @unchecked Sendable {
    // @unchecked: `received`, `refusing` and `fd` are guarded by `lock`.
    public struct Request: Sendable {
        public var path: String
        public var body: Data
        public var at: ContinuousClock.Instant
        /// Header fields by lower-cased name.
        public var headers: [String: String] = [:]
    }

    private let lock = NSLock()
    private var received: [Request] = []
    private var refusing = false
    private var rejecting = false
    private var holding = false
    private var fd: Int32 = -1
    public let port: Int

    /// Listens on 127.0.0.1 on a free port.
    public init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0
            }
        }
        guard ok, listen(s, 64) == 0 else {
            close(s)
            throw TestSupportError("webhook receiver: cannot listen")
        }
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in acceptLoop(s) }
    }

    deinit { stop() }

    public func stop() {
        lock.lock()
        let s = fd
        fd = -1
        lock.unlock()
        if s >= 0 {
            shutdown(s, Int32(SHUT_RDWR))
            close(s)
        }
    }

    /// While rejecting, every request is answered 400 (refused for good) and not recorded.
    public func setRejecting(_ on: Bool) {
        lock.lock()
        rejecting = on
        lock.unlock()
    }

    /// While holding, every request is recorded but not answered; the connection stays open until the
    /// sender gives up or holding ends (then it is answered 200).
    public func setHolding(_ on: Bool) {
        lock.lock()
        holding = on
        lock.unlock()
    }

    private var isHolding: Bool {
        lock.lock()
        defer { lock.unlock() }
        return holding
    }

    /// While refusing, every request is answered 503 and not recorded.
    public func setRefusing(_ on: Bool) {
        lock.lock()
        refusing = on
        lock.unlock()
    }

    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    private func acceptLoop(_ s: Int32) {
        while true {
            let c = accept(s, nil, nil)
            // Not inherited by the daemons a test starts (a child holding it would keep it open).
            if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
            if c < 0 {
                lock.lock()
                let stopped = fd < 0
                lock.unlock()
                if stopped { return }
                continue
            }
            Thread.detachNewThread { [self] in handle(c) }
        }
    }

    private func handle(_ c: Int32) {
        defer { close(c) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(c, &buffer, buffer.count)
            if n <= 0 { return }
            data += buffer[0..<n]
            if headerEnd == nil, let range = Data(data).range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let header = String(decoding: data[0..<range.lowerBound], as: UTF8.self)
                for line in header.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let end = headerEnd, data.count >= end + contentLength {
                let header = String(decoding: data[0..<end], as: UTF8.self)
                let path = header.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                var fields: [String: String] = [:]
                for line in header.split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                        .trimmingCharacters(in: .whitespaces)
                }
                lock.lock()
                let refuse = refusing || rejecting
                let reject = rejecting
                if !refuse {
                    received.append(
                        Request(
                            path: path, body: Data(data[end..<(end + contentLength)]), at: .now, headers: fields))
                }
                lock.unlock()
                // Holding: keep the answer back until holding ends or the sender closes.
                var probe = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
                while !refuse && isHolding {
                    if poll(&probe, 1, 20) > 0 { return }
                }
                let status = reject ? "400 Bad Request" : refuse ? "503 Service Unavailable" : "200 OK"
                let reply = "HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = reply.utf8CString.withUnsafeBufferPointer { write(c, $0.baseAddress, $0.count - 1) }
                return
            }
        }
    }
}
