import CTOML

/// Parses TOML 1.0 with toml++ (Debian's libtomlplusplus, through the `CTOML` C interface) into
/// `TOMLValue`s: every error carries its line. Bounded for the daemon, which re-reads its files on
/// SIGHUP: a document larger than `maxBytes` or nested deeper than `maxDepth` (tables, arrays,
/// dotted keys and table headers together) is refused before it is parsed, and the tree is built
/// without recursion. Dates and times are refused with the key and line unless `allowDates`.
public enum TOMLParser {
    /// 1 MiB: the largest config or profile is a few KiB.
    public static let maxBytes = 1 << 20
    /// Levels of nesting; station configs and profiles use four.
    public static let maxDepth = 100

    public static func parse(_ text: String, allowDates: Bool = false) throws(TOMLError) -> TOMLTable {
        var text = text
        return try text.withUTF8 { buffer in
            Result { () throws(TOMLError) in try parse(bytes: UnsafeRawBufferPointer(buffer), allowDates: allowDates) }
        }.get()
    }

    public static func parse(bytes: [UInt8], allowDates: Bool = false) throws(TOMLError) -> TOMLTable {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(TOMLError) in try parse(bytes: buffer, allowDates: allowDates) }
        }.get()
    }

    public static func parse(bytes: UnsafeRawBufferPointer, allowDates: Bool = false) throws(TOMLError) -> TOMLTable {
        guard bytes.count <= maxBytes else {
            throw TOMLError(
                line: nil, message: "larger than \(maxBytes) bytes (1 MiB), the most a config or profile may have")
        }
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        guard let document = ctoml_parse(base, bytes.count, UInt32(maxDepth)) else {
            throw TOMLError(line: nil, message: "out of memory")
        }
        defer { ctoml_free(document) }
        if ctoml_failed(document) != 0 {
            let line = Int(ctoml_error_line(document))
            var message = String(cString: ctoml_error(document))
            if message.hasSuffix("could not determine value type") { message += " (a string needs quotes)" }
            throw TOMLError(line: line > 0 ? line : nil, message: message)
        }
        let items = UnsafeBufferPointer(start: ctoml_items(document), count: ctoml_item_count(document))
        return try TOMLTreeBuilder(items: items, pool: ctoml_pool(document), allowDates: allowDates).build()
    }
}

/// Builds the tree from toml++'s flat pre-order items with an explicit stack (no recursion, so a
/// document's depth never costs stack).
struct TOMLTreeBuilder {
    let items: UnsafeBufferPointer<ctoml_item>
    let pool: UnsafePointer<CChar>?
    let allowDates: Bool

    private struct Frame {
        var isTable: Bool
        var table = TOMLTable()
        var array: [TOMLValue] = []
        var remaining: Int
        /// Where the value goes in its parent.
        var key: String?
        var keyLine: Int?
        var path: String
    }

    private func text(_ offset: Int, _ length: Int) -> String {
        guard let pool, length > 0 else { return "" }
        let bytes = UnsafeRawBufferPointer(start: pool + offset, count: length)
        return String(decoding: bytes, as: UTF8.self)
    }

    func build() throws(TOMLError) -> TOMLTable {
        var stack: [Frame] = []
        var root: TOMLTable?
        for item in items {
            let key: String? =
                item.key_length > 0 || stack.last?.isTable == true ? text(item.key_offset, item.key_length) : nil
            let keyLine = item.key_line > 0 ? Int(item.key_line) : nil
            let line = item.line > 0 ? Int(item.line) : nil
            let parentPath = stack.last?.path ?? ""
            let path = key.map { parentPath.isEmpty ? $0 : parentPath + "." + $0 } ?? parentPath
            let value: TOMLValue
            switch item.kind {
            case Int32(CTOML_TABLE.rawValue), Int32(CTOML_ARRAY.rawValue):
                let isTable = item.kind == Int32(CTOML_TABLE.rawValue)
                var frame = Frame(isTable: isTable, remaining: item.count, key: key, keyLine: keyLine, path: path)
                frame.table.line = stack.isEmpty ? nil : line
                if stack.isEmpty, item.count == 0 {
                    root = frame.table  // an empty document
                    continue
                }
                if item.count > 0 {
                    stack.append(frame)
                    continue
                }
                value = isTable ? .table(frame.table) : .array([])
            case Int32(CTOML_STRING.rawValue): value = .string(text(item.text_offset, item.text_length))
            case Int32(CTOML_INTEGER.rawValue): value = .integer(Int(item.integer))
            case Int32(CTOML_FLOAT.rawValue): value = .float(item.number)
            case Int32(CTOML_BOOL.rawValue): value = .bool(item.integer != 0)
            default:
                guard allowDates else {
                    throw TOMLError(
                        line: line, key: path,
                        message: "dates and times are not supported here; write the value as a string")
                }
                let kinds: [Int32: TOMLDateTime.Kind] = [
                    Int32(CTOML_DATETIME.rawValue): .offsetDateTime,
                    Int32(CTOML_DATETIME_LOCAL.rawValue): .localDateTime,
                    Int32(CTOML_DATE_LOCAL.rawValue): .localDate, Int32(CTOML_TIME_LOCAL.rawValue): .localTime,
                ]
                guard let kind = kinds[item.kind] else {
                    throw TOMLError(line: line, key: path, message: "unsupported value")
                }
                value = .dateTime(TOMLDateTime(kind: kind, text: text(item.text_offset, item.text_length)))
            }
            Self.attach(value, key: key, keyLine: keyLine, to: &stack, root: &root)
        }
        guard let root else { throw TOMLError(line: nil, message: "the parser returned no document") }
        return root
    }

    /// Adds a finished value to the innermost open table or array, closing those it completes.
    private static func attach(
        _ value: TOMLValue, key: String?, keyLine: Int?, to stack: inout [Frame], root: inout TOMLTable?
    ) {
        var value = value
        var key = key
        var keyLine = keyLine
        while let top = stack.indices.last {
            if stack[top].isTable {
                _ = stack[top].table.define(key ?? "", value, line: keyLine)
            } else {
                stack[top].array.append(value)
            }
            stack[top].remaining -= 1
            guard stack[top].remaining <= 0 else { return }
            let done = stack.removeLast()
            if stack.isEmpty {
                root = done.table
                return
            }
            value = done.isTable ? .table(done.table) : .array(done.array)
            key = done.key
            keyLine = done.keyLine
        }
    }
}
