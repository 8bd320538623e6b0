#if canImport(Glibc)
    import Glibc
#endif

/// Builds `sockaddr_un` for a filesystem path (or `@name` in the abstract namespace) and passes it
/// to a socket call, so each caller does not fill the C struct by hand.
public enum UnixSocketAddress {
    public struct TooLong: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "socket path too long (\(path.utf8.count) bytes, at most 107): \(path)" }
    }

    /// Calls `body` with the address and its length.
    public static func with<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw TooLong(path: path) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            if !abstract { raw[bytes.count] = 0 }
        }
        let length =
            abstract
            ? socklen_t(MemoryLayout<sa_family_t>.size + bytes.count) : socklen_t(MemoryLayout<sockaddr_un>.size)
        return try withUnsafePointer(to: &addr) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// A listening stream socket on `path` (an old socket file there is removed first). Throws a
    /// message naming the path and the reason.
    public static func listen(path: String, backlog: Int32) throws -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(message: "cannot create a socket for \(path): errno \(errno)") }
        let bound: Int32
        do {
            bound = try with(path) { bind(fd, $0, $1) }
        } catch {
            close(fd)
            throw ListenError(message: "\(error)")
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw ListenError(message: "cannot listen on \(path): \(String(cString: strerror(code)))")
        }
        return fd
    }

    public struct ListenError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
