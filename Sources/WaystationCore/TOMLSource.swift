import WaystationProtocol

/// A config or profile file's path and parsed root (the loaders' parse entry). Each table carries
/// the lines of its keys and of its header (`TOMLTable.lines`, `TOMLTable.line`), so every error
/// can name its line. Dates and times are refused here: no key takes one.
struct TOMLSource {
    let path: String
    let root: TOMLTable

    init(path: String) throws(ConfigError) {
        let bytes: [UInt8]
        do {
            // At most `maxBytes + 1`: enough to refuse a larger file without reading it all (a config
            // pointed at /dev/zero must not fill the memory).
            bytes = try SystemIO.readFile(path, limit: TOMLParser.maxBytes)
        } catch {
            throw ConfigError(file: path, message: "cannot read file: \(error.description)")
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
}
