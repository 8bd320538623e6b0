#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A blocking varlink client on one Unix socket connection (the CLI and tests). Each call waits
/// for its reply on the caller's thread: use it from a program's main thread or a dedicated
/// thread, never from Swift's shared concurrency pool in a server.
public final class VarlinkClient {
    public enum Failure: Error, CustomStringConvertible {
        /// The socket could not be reached.
        case cannotConnect(path: String, reason: String)
        /// The daemon answered with a varlink error.
        case reply(VarlinkError)
        /// The connection broke, timed out, or the reply was not varlink.
        case protocolError(String)

        public var description: String {
            switch self {
            case .cannotConnect(let path, let reason): "cannot connect to \(path): \(reason)"
            case .reply(let error): error.description
            case .protocolError(let s): "protocol error: \(s)"
            }
        }

        /// The typed error, when the daemon answered with one of `io.waystation.Station`'s.
        public var stationError: StationError? {
            if case .reply(let e) = self { return StationError(e) }
            return nil
        }
    }

    let fd: Int32
    private var reader = VarlinkFrame.Reader(limit: 64 << 20)

    /// Connects; `timeout` bounds each wait for a reply (0: wait forever).
    public init(path: String, timeout: TimeInterval = 30) throws(Failure) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotConnect(path: path, reason: "socket(): \(String(cString: strerror(errno)))") }
        let ok: Bool
        do {
            ok = try UnixSocketAddress.with(path) { Glibc.connect(fd, $0, $1) == 0 }
        } catch {
            close(fd)
            throw .cannotConnect(path: path, reason: "\(error)")
        }
        guard ok else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotConnect(path: path, reason: reason)
        }
        if timeout > 0 {
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit { close(fd) }

    /// Sends a call.
    public func send(_ method: String, _ parameters: JSON = [:], more: Bool = false, oneway: Bool = false)
        throws(Failure)
    {
        let object = parameters.object ?? [:]
        try sendRaw(VarlinkCall(method: method, parameters: object, more: more, oneway: oneway).frame)
    }

    /// Sends raw bytes (tests of malformed input).
    public func sendRaw(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { throw .protocolError("send failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Reads the next reply message.
    public func receive() throws(Failure) -> VarlinkReply {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            do {
                if let message = try reader.next() {
                    guard let json = JSON.parse(message), let reply = VarlinkReply(json: json) else {
                        throw Failure.protocolError("reply is not a varlink message")
                    }
                    return reply
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw .protocolError("reply larger than 64 MiB")
            }
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n == 0 { throw .protocolError("the daemon closed the connection") }
            if n < 0 {
                throw .protocolError(
                    errno == EAGAIN ? "no reply in time" : "read failed: \(String(cString: strerror(errno)))")
            }
            reader.append(buffer[0..<n])
        }
    }

    /// Calls a method and returns its parameters, or throws its varlink error.
    public func call(_ method: String, _ parameters: JSON = [:]) throws(Failure) -> JSON {
        try send(method, parameters)
        return try Self.unwrap(try receive())
    }

    /// The parameters of a reply, or its error thrown.
    public static func unwrap(_ reply: VarlinkReply) throws(Failure) -> JSON {
        if let error = reply.error { throw .reply(VarlinkError(error, reply.parameters)) }
        return reply.parameters
    }

    /// Calls a typed method of `io.waystation.Station`.
    public func call<M: StationMethod>(_ method: M.Type, _ parameters: M.Parameters) throws(Failure) -> M.Reply {
        let json: JSON
        do { json = try JSON.from(parameters) } catch { throw .protocolError("cannot encode parameters: \(error)") }
        return try Self.decode(M.Reply.self, try call(M.qualifiedName, json))
    }

    /// Calls a typed method that takes no parameters.
    public func call<M: StationMethod>(_ method: M.Type) throws(Failure) -> M.Reply where M.Parameters == Empty {
        try call(method, Empty())
    }

    /// Decodes typed reply parameters.
    public static func decode<T: Decodable>(_ type: T.Type, _ json: JSON) throws(Failure) -> T {
        do { return try json.decode(T.self) } catch { throw .protocolError("unexpected reply: \(error)") }
    }
}
