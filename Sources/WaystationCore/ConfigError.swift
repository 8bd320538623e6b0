/// A problem in a station config or appliance profile, located as precisely as the file allows.
///
/// The description names the file, the line (when known), the key and what was expected, so a
/// technician can fix the file without reading code.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the problem is in.
    public var file: String
    /// 1-based line, when the parser or the key locator could find one.
    public var line: Int?
    /// Where in the file: a table and key, e.g. `[[device]] "fridge" key 'unit'`.
    public var key: String?
    /// What was wrong and what was expected.
    public var message: String

    public init(file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}

/// Several config problems found in one pass; reported together so a technician fixes them at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
