import Foundation

/// A TCP connection to 127.0.0.1:`port` from `source` (any 127/8 address, so that a test or the
/// bench can stand for many peers), blocking.
public final class TCPClient: @unchecked Sendable {
    // @unchecked: one descriptor, used by one task at a time.
    public let fd: Int32

    public init(port: Int, source: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket(): \(String(cString: strerror(errno)))") }
        var from = sockaddr_in()
        from.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, source, &from.sin_addr)
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr)
        let ok = withUnsafePointer(to: &from) { f in
            withUnsafePointer(to: &to) { t in
                f.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
                    && t.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                    }
            }
        }
        guard ok else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw TestSupportError("connect to \(port) from \(source): \(why)")
        }
    }

    deinit { close(fd) }

    public func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `seconds`, or until `marker` has arrived, or the server closes; and
    /// whether it closed.
    public func read(for seconds: Int, until marker: String? = nil) -> (text: String, closed: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let wanted = marker.map { Array($0.utf8) }
        while ContinuousClock.now < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
            guard poll(&p, 1, Int32(clamping: ms)) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return (String(decoding: bytes, as: UTF8.self), true) }
            bytes += buffer[0..<n]
            if let wanted, bytes.count >= wanted.count,
                bytes.indices.dropLast(wanted.count - 1).contains(where: {
                    bytes[$0..<($0 + wanted.count)].elementsEqual(wanted)
                })
            {
                break
            }
        }
        return (String(decoding: bytes, as: UTF8.self), false)
    }

    /// Reads until `marker` arrives (or the connection ends, or 10 s pass).
    public func read(until marker: String) -> String {
        read(for: 10, until: marker).text
    }
}

extension TCPClient {
    /// `count` keep-alive HTTP connections to 127.0.0.1:`port`, ten from each source address
    /// (127.0.2.1, .2, …: many peers, as on a network), each asking `GET path` once and reading the
    /// answer up to `marker`; all left open. Returns the clients and how many got an answer (a
    /// server that caps connections closes the rest).
    public static func keepAliveFlood(port: Int, count: Int, path: String, marker: String) throws
        -> (clients: [TCPClient], answered: Int)
    {
        var clients: [TCPClient] = []
        for i in 0..<count {
            let c = try TCPClient(port: port, source: "127.0.\(2 + i / 2500).\(1 + (i / 10) % 250)")
            c.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            clients.append(c)
        }
        var answered = 0
        for c in clients where c.read(until: marker).contains(marker) { answered += 1 }
        return (clients, answered)
    }
}
