import WaystationCore
import Foundation

/// A blocking varlink client for one Unix socket connection (the CLI and tests).
public final class VarlinkClient {
    public enum Failure: Error, CustomStringConvertible {
        /// The socket could not be reached.
        case cannotConnect(path: String, reason: String)
        /// The daemon answered with a varlink error.
        case reply(error: String, parameters: JSON)
        /// The connection broke or the reply was not varlink.
        case protocolError(String)

        public var description: String {
            switch self {
            case .cannotConnect(let path, let reason): "cannot connect to \(path): \(reason)"
            case .reply(let error, let parameters): "\(error) \(parameters.text)"
            case .protocolError(let s): "protocol error: \(s)"
            }
        }
    }

    let fd: Int32
    private var pending = [UInt8]()

    public init(path: String, timeout: TimeInterval = 30) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.cannotConnect(path: path, reason: "socket(): errno \(errno)") }
        let ok: Bool
        do {
            ok = try UnixSocketAddress.with(path) { Glibc.connect(fd, $0, $1) == 0 }
        } catch {
            close(fd)
            throw Failure.cannotConnect(path: path, reason: "path too long")
        }
        guard ok else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure.cannotConnect(path: path, reason: reason)
        }
        if timeout > 0 {
            var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit { close(fd) }

    /// Sends a call.
    public func send(_ method: String, _ parameters: JSON = [:], more: Bool = false) throws {
        var object: [String: JSON] = ["method": .string(method), "parameters": parameters]
        if more { object["more"] = true }
        var bytes = Array(JSON.object(object).text.utf8)
        bytes.append(0)
        try sendRaw(bytes)
    }

    /// Sends raw bytes (tests of malformed input).
    public func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { throw Failure.protocolError("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads the next reply message.
    public func receive() throws -> JSON {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let nul = pending.firstIndex(of: 0) {
                let message = Data(pending[..<nul])
                pending.removeSubrange(...nul)
                guard let json = JSON.parse(message) else { throw Failure.protocolError("reply is not JSON") }
                return json
            }
            let n = read(fd, &buffer, buffer.count)
            if n == 0 { throw Failure.protocolError("the daemon closed the connection") }
            if n < 0 {
                throw Failure.protocolError(errno == EAGAIN ? "no reply in time" : "read failed: errno \(errno)")
            }
            pending += buffer[0..<n]
        }
    }

    /// Calls a method and returns its parameters, or throws its varlink error.
    public func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
        try send(method, parameters)
        return try Self.unwrap(try receive())
    }

    /// The parameters of a reply, or its error thrown.
    public static func unwrap(_ reply: JSON) throws -> JSON {
        if let error = reply["error"]?.string {
            throw Failure.reply(error: error, parameters: reply["parameters"] ?? [:])
        }
        return reply["parameters"] ?? [:]
    }
}
