#if canImport(Glibc)
    import Glibc
#endif

/// A config or profile file's path and parsed root (the loaders' parse entry). Each table carries
/// the lines of its keys and of its header (`TOMLTable.lines`, `TOMLTable.line`), so every error
/// can name its line. Dates and times are refused here: no key takes one.
struct TOMLSource {
    let path: String
    let root: TOMLTable

    init(path: String) throws(ConfigError) {
        let bytes: [UInt8]
        do {
            bytes = try Self.readBounded(path, limit: TOMLParser.maxBytes)
        } catch {
            throw ConfigError(file: path, message: "cannot read file: \(String(cString: strerror(error.code)))")
        }
        try self.init(path: path, bytes: bytes)
    }

    /// A document's bytes (as read from a file: the parser checks they are UTF-8).
    init(path: String, bytes: [UInt8]) throws(ConfigError) {
        self.path = path
        self.root = try Self.parse(path: path) { () throws(TOMLError) in try TOMLParser.parse(bytes: bytes) }
    }

    init(path: String, text: String) throws(ConfigError) {
        self.path = path
        self.root = try Self.parse(path: path) { () throws(TOMLError) in try TOMLParser.parse(text) }
    }

    private static func parse(path: String, _ body: () throws(TOMLError) -> TOMLTable) throws(ConfigError)
        -> TOMLTable
    {
        do {
            return try body()
        } catch {
            throw ConfigError(
                file: path, line: error.line, key: error.key.map { "key '\($0)'" },
                message: "invalid TOML: \(error.message)")
        }
    }

    struct ReadError: Error { var code: Int32 }

    /// At most `limit + 1` bytes of a file: enough to refuse a larger one without reading it all (a
    /// config pointed at /dev/zero must not fill the memory).
    static func readBounded(_ path: String, limit: Int) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(code: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
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
}
