/// A TOML 1.0 parser for station configs and appliance profiles: tables, arrays of tables, dotted
/// keys, basic and literal strings (also multi-line), integers (decimal, hex, octal, binary),
/// floats (with `inf` and `nan`, which the loaders then refuse where a number must be finite),
/// booleans, arrays and inline tables. Dates and times are refused with a clear message (no key
/// takes one). Written for the daemon: no leaks across reloads, a line number on every error.
public struct TOMLParser {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1

    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
    private func peek(_ offset: Int) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }

    private mutating func advance() {
        if bytes[i] == 10 { line += 1 }
        i += 1
    }

    private mutating func skipSpaces() {
        while let c = peek, c == 32 || c == 9 { i += 1 }
    }

    /// Spaces, a comment, then the end of the line (or of the text).
    private mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        if peek == 35 { while let c = peek, c != 10 { i += 1 } }
        if peek == 13, peek(1) == 10 { i += 1 }
        guard let c = peek else { return }
        guard c == 10 else { throw fail("expected the end of the line, found \"\(Character(UnicodeScalar(c)))\"") }
        advance()
    }

    /// Blank lines, comments and (inside arrays) newlines.
    private mutating func skipBlank() {
        while let c = peek {
            if c == 32 || c == 9 || c == 13 || c == 10 {
                advance()
            } else if c == 35 {
                while let d = peek, d != 10 { i += 1 }
            } else {
                return
            }
        }
    }

    // MARK: Document

    private mutating func document() throws(TOMLError) -> TOMLTable {
        var root = TOMLTable()
        /// The path of the current table; `isArray`: it is the last element of an array of tables.
        var current: [String] = []
        var definedTables: Set<[String]> = []
        while true {
            skipBlank()
            guard let c = peek else { break }
            let at = line
            if c == 91 {  // [
                let array = peek(1) == 91
                i += array ? 2 : 1
                skipSpaces()
                let path = try keyPath()
                skipSpaces()
                guard peek == 93, !array || peek(1) == 93 else {
                    throw fail("expected \(array ? "]]" : "]") after the table name")
                }
                i += array ? 2 : 1
                try endOfLine()
                if array {
                    try Self.appendTable(&root, path, line: at, fail: fail)
                } else {
                    guard definedTables.insert(path).inserted else {
                        throw TOMLError(line: at, message: "table [\(path.joined(separator: "."))] is defined twice")
                    }
                    try Self.ensureTable(&root, path, line: at, fail: fail)
                }
                current = path
            } else {
                let path = try keyPath()
                skipSpaces()
                guard peek == 61 else { throw fail("expected \"=\" after the key \"\(path.joined(separator: "."))\"") }
                i += 1
                skipSpaces()
                let value = try self.value()
                try endOfLine()
                try Self.set(&root, current, path, value, line: at) { TOMLError(line: at, message: $0) }
            }
        }
        return root
    }

    private mutating func keyPath() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = peek else { throw fail("expected a key") }
            if c == 34 {
                parts.append(try basicString())
            } else if c == 39 {
                parts.append(try literalString())
            } else {
                let start = i
                while let d = peek, Self.isBareKey(d) { i += 1 }
                guard i > start else { throw fail("expected a key, found \"\(Character(UnicodeScalar(c)))\"") }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipSpaces()
            guard peek == 46 else { return parts }
            i += 1
        }
    }

    private static func isBareKey(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c == 45
    }

    // MARK: Building the tree

    typealias Fail = (String) -> TOMLError

    /// Walks to (creating) the table at `path`; the last element of an array of tables is entered.
    private static func withTable(
        _ table: inout TOMLTable, _ path: ArraySlice<String>, line: Int, fail: Fail,
        _ body: (inout TOMLTable) throws(TOMLError) -> Void
    ) throws(TOMLError) {
        guard let key = path.first else {
            try body(&table)
            return
        }
        let rest = path.dropFirst()
        switch table[key] {
        case nil:
            var sub = TOMLTable()
            try withTable(&sub, rest, line: line, fail: fail, body)
            _ = table.define(key, .table(sub), line: line)
        case .table(var sub)?:
            try withTable(&sub, rest, line: line, fail: fail, body)
            table.replace(key, .table(sub))
        case .array(var elements)?:
            guard case .table(var last)? = elements.last else { throw fail("\"\(key)\" is not a table") }
            try withTable(&last, rest, line: line, fail: fail, body)
            elements[elements.count - 1] = .table(last)
            table.replace(key, .array(elements))
        default:
            throw fail("\"\(key)\" is already a value, not a table")
        }
    }

    static func ensureTable(_ root: inout TOMLTable, _ path: [String], line: Int, fail: Fail) throws(TOMLError) {
        try withTable(&root, path[...], line: line, fail: fail) { _ throws(TOMLError) in }
    }

    static func appendTable(_ root: inout TOMLTable, _ path: [String], line: Int, fail: Fail) throws(TOMLError) {
        guard let last = path.last else { throw fail("empty table name") }
        try withTable(&root, path.dropLast(), line: line, fail: fail) { (t: inout TOMLTable) throws(TOMLError) in
            switch t[last] {
            case nil: _ = t.define(last, .array([.table(TOMLTable())]), line: line)
            case .array(let a)?: t.replace(last, .array(a + [.table(TOMLTable())]))
            default: throw fail("\"\(last)\" is already defined and is not an array of tables")
            }
        }
    }

    static func set(
        _ root: inout TOMLTable, _ table: [String], _ key: [String], _ value: TOMLValue, line: Int, fail: Fail
    ) throws(TOMLError) {
        guard let last = key.last else { throw fail("empty key") }
        try withTable(&root, (table + key.dropLast())[...], line: line, fail: fail) {
            (t: inout TOMLTable) throws(TOMLError) in
            guard t.define(last, value, line: line) else {
                throw fail("key \"\(key.joined(separator: "."))\" is set twice")
            }
        }
    }

    // MARK: Values

    private mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case 34:
            if peek(1) == 34, peek(2) == 34 { return .string(try multilineString(literal: false)) }
            return .string(try basicString())
        case 39:
            if peek(1) == 39, peek(2) == 39 { return .string(try multilineString(literal: true)) }
            return .string(try literalString())
        case 91: return try arrayValue()
        case 123: return try inlineTable()
        case 116, 102: return try boolean()
        default: return try number()
        }
    }

    private mutating func boolean() throws(TOMLError) -> TOMLValue {
        if bytes[i...].starts(with: Array("true".utf8)) {
            i += 4
            return .bool(true)
        }
        if bytes[i...].starts(with: Array("false".utf8)) {
            i += 5
            return .bool(false)
        }
        throw fail("expected a value (a string needs quotes)")
    }

    private mutating func number() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = peek, !(c == 32 || c == 9 || c == 10 || c == 13 || c == 44 || c == 93 || c == 125 || c == 35) {
            i += 1
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard !text.isEmpty else { throw fail("expected a value") }
        if let first = text.unicodeScalars.first, first.properties.isAlphabetic, text != "inf", text != "nan" {
            throw fail("expected a value, found \"\(text)\" (a string needs quotes)")
        }
        if text.contains(":") || (text.count >= 10 && text.dropFirst(4).first == "-" && text.first?.isNumber == true) {
            throw fail("dates and times are not supported here; write the value as a string")
        }
        let sign: Double = text.hasPrefix("-") ? -1 : 1
        let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? String(text.dropFirst()) : text
        if unsigned == "inf" { return .float(sign * .infinity) }
        if unsigned == "nan" { return .float(.nan) }
        guard !unsigned.hasPrefix("_"), !unsigned.hasSuffix("_"), !unsigned.contains("__") else {
            throw fail("invalid number \"\(text)\"")
        }
        let digits = unsigned.replacingAll("_", with: "")
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
            guard text.first != "-", text.first != "+", let v = Int(digits.dropFirst(2), radix: radix) else {
                throw fail("invalid number \"\(text)\"")
            }
            return .integer(v)
        }
        if !digits.contains("."), !digits.contains("e"), !digits.contains("E") {
            guard digits.allSatisfy(\.isNumber), !(digits.count > 1 && digits.hasPrefix("0")), let v = Int(digits)
            else {
                throw fail("invalid number \"\(text)\"")
            }
            return .integer(Int(sign) * v)
        }
        guard let d = Double(digits), digits.first?.isNumber == true, digits.last?.isNumber == true else {
            throw fail("invalid number \"\(text)\"")
        }
        return .float(sign * d)
    }

    private mutating func arrayValue() throws(TOMLError) -> TOMLValue {
        i += 1
        var elements: [TOMLValue] = []
        while true {
            skipBlank()
            guard let c = peek else { throw fail("array not closed with \"]\"") }
            if c == 93 {
                i += 1
                return .array(elements)
            }
            elements.append(try value())
            skipBlank()
            if peek == 44 {
                i += 1
            } else if peek == nil {
                throw fail("array not closed with \"]\"")
            } else if peek != 93 {
                throw fail("expected \",\" or \"]\" in the array")
            }
        }
    }

    private mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        let at = line
        i += 1
        var table = TOMLTable()
        skipSpaces()
        if peek == 125 {
            i += 1
            return .table(table)
        }
        while true {
            let key = try keyPath()
            skipSpaces()
            guard peek == 61 else { throw fail("expected \"=\" in the inline table") }
            i += 1
            skipSpaces()
            let v = try value()
            try Self.set(&table, [], key, v, line: at, fail: fail)
            skipSpaces()
            if peek == 44 {
                i += 1
                skipSpaces()
            } else if peek == 125 {
                i += 1
                return .table(table)
            } else {
                throw fail("expected \",\" or \"}\" in the inline table (it must fit on one line)")
            }
        }
    }

    // MARK: Strings

    private mutating func literalString() throws(TOMLError) -> String {
        i += 1
        let start = i
        while let c = peek, c != 39 {
            if c == 10 { throw fail("string not closed on its line") }
            i += 1
        }
        guard peek == 39 else { throw fail("string not closed") }
        defer { i += 1 }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    private mutating func basicString() throws(TOMLError) -> String {
        i += 1
        var out: [UInt8] = []
        while let c = peek {
            if c == 34 {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c == 10 { throw fail("string not closed on its line") }
            if c == 92 { try escape(into: &out) } else { out.append(c); i += 1 }
        }
        throw fail("string not closed")
    }

    private mutating func multilineString(literal: Bool) throws(TOMLError) -> String {
        let quote: UInt8 = literal ? 39 : 34
        i += 3
        if peek == 13, peek(1) == 10 { i += 1 }
        if peek == 10 { advance() }
        var out: [UInt8] = []
        while let c = peek {
            if c == quote, peek(1) == quote, peek(2) == quote {
                i += 3
                // Up to two more quotes belong to the content.
                while peek == quote, out.count < Int.max {
                    out.append(quote)
                    i += 1
                }
                return String(decoding: out, as: UTF8.self)
            }
            if !literal, c == 92 {
                // A line-ending backslash trims the newline and the leading spaces that follow.
                var j = i + 1
                while j < bytes.count, bytes[j] == 32 || bytes[j] == 9 { j += 1 }
                if j < bytes.count, bytes[j] == 10 || bytes[j] == 13 {
                    i = j
                    skipBlank()
                    continue
                }
                try escape(into: &out)
                continue
            }
            out.append(c)
            advance()
        }
        throw fail("multi-line string not closed")
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        i += 1
        guard let e = peek else { throw fail("string not closed") }
        i += 1
        switch e {
        case 98: out.append(8)
        case 116: out.append(9)
        case 110: out.append(10)
        case 102: out.append(12)
        case 114: out.append(13)
        case 34: out.append(34)
        case 92: out.append(92)
        case 117, 85:
            let count = e == 117 ? 4 : 8
            guard i + count <= bytes.count,
                let code = UInt32(String(decoding: bytes[i..<(i + count)], as: UTF8.self), radix: 16),
                let scalar = Unicode.Scalar(code)
            else { throw fail("invalid \\u escape") }
            i += count
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            throw fail("invalid escape \"\\\(Character(UnicodeScalar(e)))\" in a string")
        }
    }
}
