#if canImport(Glibc)
    import Glibc
#endif
import CModbus
import WaystationCore

/// The TCP stream to an Ethernet-to-serial gateway (RTU over TCP), opened with a deadline.
enum TCPStream {
    struct Errno: Error { var code: Int32 }

    /// A connected, blocking socket (TCP_NODELAY: a request is one small write), or errno.
    static func open(host: String, port: Int, timeout: Duration) -> Result<Int32, Errno> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            return .failure(Errno(code: EHOSTUNREACH))
        }
        defer { freeaddrinfo(list) }
        var code: Int32 = ECONNREFUSED
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                code = errno
                continue
            }
            if let failure = connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen, timeout: timeout) {
                code = failure
                Glibc.close(fd)
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return .success(fd)
        }
        return .failure(Errno(code: code))
    }

    /// Connects without blocking longer than `timeout`; nil when connected, else errno.
    private static func connect(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t,
        timeout: Duration
    ) -> Int32? {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return errno }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ms = Int32(clamping: max(timeout.milliseconds, 1))
        var rc: Int32
        repeat { rc = poll(&p, 1, ms) } while rc == -1 && errno == EINTR
        if rc == 0 { return ETIMEDOUT }
        if rc < 0 { return errno }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { return errno }
        return error == 0 ? nil : error
    }

    /// Reads and drops whatever is waiting on the socket (a late or partial reply).
    static func drain(_ fd: Int32) {
        guard fd >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 512)
        while recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 {}
    }
}
