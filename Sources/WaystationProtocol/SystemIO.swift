#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file reads and standard-stream writes with plain system calls (what Foundation's
/// `String(contentsOfFile:)`, `FileManager.contents(atPath:)` and `FileHandle` did for us).
public enum SystemIO {
    /// A failed read: the `errno` of the call that failed, or text that is not UTF-8.
    public struct ReadError: Error, CustomStringConvertible, Sendable {
        /// The `errno` value, or 0 for text that is not UTF-8.
        public var code: Int32
        public var description: String {
            code == 0 ? "the file is not valid UTF-8 text" : String(cString: strerror(code))
        }
    }

    /// The bytes of a file; with a `limit`, at most `limit + 1` of them (enough to tell a file is
    /// larger than the limit without reading it all).
    public static func readFile(_ path: String, limit: Int = .max) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(code: errno) }
        defer { close(fd) }
        var info = stat()
        let sizeHint = fstat(fd, &info) == 0 && info.st_size > 0 ? Int(info.st_size) : 0
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(sizeHint, limit) + 1)
        var chunk = [UInt8](repeating: 0, count: max(4096, min(sizeHint + 1, 1 << 20)))
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                return bytes
            } else if errno != EINTR {
                throw ReadError(code: errno)
            }
        }
        return bytes
    }

    /// A UTF-8 text file, without a leading byte order mark.
    public static func readText(_ path: String) throws(ReadError) -> String {
        var bytes = try readFile(path)[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ReadError(code: 0) }
        return text
    }

    /// Writes all of `text` to a descriptor (retrying short writes and EINTR); false when it could not.
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
    }

    /// Writes to standard error (unbuffered, like `FileHandle.standardError`).
    @discardableResult
    public static func writeError(_ text: String) -> Bool { write(text, to: STDERR_FILENO) }

    /// Writes to standard output directly, bypassing `print`'s buffer (like `FileHandle.standardOutput`).
    @discardableResult
    public static func writeOutput(_ text: String) -> Bool { write(text, to: STDOUT_FILENO) }
}
