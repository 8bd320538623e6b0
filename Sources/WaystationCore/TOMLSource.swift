/// A TOML file's text and parsed root, with a locator that finds the line a key was written on.
///
/// Keys carry the line they were set on (`TOMLTable.lines`); headers are found by scanning the text:
/// the n-th `[[name]]` (or `[name]`) header.
struct TOMLSource {
    let path: String
    let lines: [String]
    let root: TOMLTable

    init(path: String) throws(ConfigError) {
        let text: String
        do {
            text = try SystemIO.readText(path)
        } catch {
            throw ConfigError(file: path, message: "cannot read file: \(error)")
        }
        try self.init(path: path, text: text)
    }

    init(path: String, text: String) throws(ConfigError) {
        self.path = path
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        do {
            self.root = try TOMLParser.parse(text)
        } catch {
            throw ConfigError(file: path, line: error.line, message: "invalid TOML: \(error.message)")
        }
    }

    /// The 1-based line of a section header: `[name]` (index 0) or the index-th `[[name]]`.
    func headerLine(_ section: String, index: Int) -> Int? {
        var seen = 0
        for (number, raw) in lines.enumerated() {
            let line = Self.stripComment(raw).trimmingWhitespace()
            if line == "[[\(section)]]" || line == "[\(section)]" {
                if seen == index { return number + 1 }
                seen += 1
            }
        }
        return nil
    }

    /// The 1-based line a key is set on inside a section, or the section's header line.
    func keyLine(_ key: String, section: String?, index: Int) -> Int? {
        let start: Int
        if let section {
            guard let header = headerLine(section, index: index) else { return nil }
            start = header  // index of the line after the header (0-based)
        } else {
            start = 0
        }
        var number = start
        while number < lines.count {
            let line = Self.stripComment(lines[number]).trimmingWhitespace()
            if line.hasPrefix("[") { break }
            if let eq = line.firstIndex(of: "=") {
                let name = line[..<eq].trimmingWhitespace().trimmingScalars { $0 == "\"" || $0 == "'" }
                if name == key { return number + 1 }
            }
            number += 1
        }
        return section == nil ? nil : start
    }

    private static func stripComment(_ line: String) -> String {
        guard let hash = line.firstIndex(of: "#") else { return line }
        // Good enough for our files: a '#' inside a quoted string on a header or key line is rare.
        let before = line[..<hash]
        if before.filter({ $0 == "\"" }).count % 2 == 1 { return line }
        return String(before)
    }
}
