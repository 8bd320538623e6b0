import Foundation

/// Free TCP ports on 127.0.0.1, for simulated endpoints in tests and the benchmark.
public enum LoopbackPort {
    /// A port the kernel just handed out (bound and released); free unless someone races for it.
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw TestSupportError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
