#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One daemon per state directory: an exclusive `flock` on `waystationd.lock` beside the database,
/// held for the life of the process (the kernel drops it when the process dies, even by SIGKILL).
/// A second daemon on the same config would poll the buses twice, write the same database and
/// remove the first one's control socket; it is refused instead, naming the one that runs.
public final class StateLock: Sendable {
    public let path: String
    private let fd: Int32

    public struct Held: Error, CustomStringConvertible {
        public var description: String
    }

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory.hasSuffix("/") ? directory + "waystationd.lock" : directory + "/waystationd.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Held(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            let other = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).filter { !$0.isWhitespace } : "?"
            close(fd)
            if code == EWOULDBLOCK {
                throw Held(
                    description:
                        "another waystationd (pid \(other)) is already running on \(directory) (lock \(path)); stop it first, or give this one its own [storage] path"
                )
            }
            throw Held(description: "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }
}
