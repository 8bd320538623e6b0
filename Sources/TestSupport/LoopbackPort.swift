import Foundation
import Synchronization

/// Free TCP ports on 127.0.0.1, for simulated endpoints in tests and the benchmark.
///
/// Handed out from just below the kernel's ephemeral range (`ip_local_port_range`), never from it:
/// a port bound and released there can be taken by any outgoing connection on the machine (the
/// daemons' own, Chromium's) before the simulator listens on it, which made a test fail with
/// EADDRINUSE. Below the range only listeners can hold a port; each candidate is checked by binding
/// it, and one process hands out each port once (going round), starting at a place its pid picks.
public enum LoopbackPort {
    /// How many ports below the ephemeral range are used.
    static let span = 12_000
    private static let next = Mutex<Int?>(nil)

    /// A port nothing listened on a moment ago, outside the kernel's ephemeral range.
    public static func free() throws -> Int {
        let top = ephemeralLow()
        let bottom = max(1024, top - span)
        let size = top - bottom
        if size >= 100 {
            for _ in 0..<size {
                let candidate = next.withLock { next in
                    let offset = next ?? Int(getpid()) &* 7919 % size
                    next = (offset + 1) % size
                    return bottom + offset
                }
                if bindable(candidate) { return candidate }
            }
        }
        // No room below the range (an unusual ip_local_port_range): let the kernel choose.
        guard let any = bound(port: 0) else { throw TestSupportError("cannot find a free loopback port") }
        return any
    }

    /// The first port of the kernel's ephemeral range (32768 by default).
    static func ephemeralLow() -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
    }

    private static func bindable(_ port: Int) -> Bool { bound(port: port) == port }

    /// Binds a socket to 127.0.0.1:`port` (0: any) and releases it; the port bound, or nil.
    private static func bound(port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        return ok ? Int(UInt16(bigEndian: addr.sin_port)) : nil
    }
}
