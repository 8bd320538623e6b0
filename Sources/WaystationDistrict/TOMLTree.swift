import CTOML

/// A TOML document as a tree, from toml++ through CTOML (the hub's own small reader of the shared C
/// parser; the station's typed config loader stays in WaystationCore).
indirect enum TOMLValue: Sendable {
    case table([(key: String, value: TOMLValue, line: Int)])
    case array([TOMLValue])
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    /// A date or time, in RFC 3339 form.
    case datetime(String)

    var typeName: String {
        switch self {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .datetime: "a date/time"
        }
    }

    subscript(key: String) -> TOMLValue? {
        guard case .table(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    var keys: [String] {
        guard case .table(let entries) = self else { return [] }
        return entries.map(\.key)
    }

    /// Parses `text`; the error names the line and column.
    static func parse(_ source: String) throws(TOMLParseError) -> TOMLValue {
        let bytes = source.utf8CString
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return ctoml_parse(base, buffer.count - 1, 64)
        }
        guard let document = parsed else { throw TOMLParseError(message: "out of memory", line: 0, column: 0) }
        defer { ctoml_free(document) }
        if ctoml_failed(document) != 0 {
            throw TOMLParseError(
                message: String(cString: ctoml_error(document)), line: Int(ctoml_error_line(document)),
                column: Int(ctoml_error_column(document)))
        }
        let count = ctoml_item_count(document)
        guard count > 0, let items = ctoml_items(document), let pool = ctoml_pool(document) else {
            return .table([])
        }
        let raw = UnsafeRawPointer(pool)
        func text(_ offset: Int, _ length: Int) -> String {
            String(decoding: UnsafeRawBufferPointer(start: raw + offset, count: length), as: UTF8.self)
        }
        var index = 0
        // Iterative over items in pre-order: a stack of containers being filled.
        struct Frame {
            var isTable: Bool
            var remaining: Int
            var entries: [(key: String, value: TOMLValue, line: Int)] = []
            var elements: [TOMLValue] = []
            var key = ""
            var line = 0
        }
        var stack: [Frame] = []
        var result: TOMLValue = .table([])
        while index < count {
            let item = items[index]
            index += 1
            let key = text(item.key_offset, item.key_length)
            let line = Int(item.key_line != 0 ? item.key_line : item.line)
            let value: TOMLValue
            switch item.kind {
            case Int32(CTOML_TABLE.rawValue), Int32(CTOML_ARRAY.rawValue):
                let frame = Frame(
                    isTable: item.kind == Int32(CTOML_TABLE.rawValue), remaining: item.count, key: key, line: line)
                if item.count == 0 {
                    value = frame.isTable ? .table([]) : .array([])
                } else {
                    stack.append(frame)
                    continue
                }
            case Int32(CTOML_STRING.rawValue): value = .string(text(item.text_offset, item.text_length))
            case Int32(CTOML_INTEGER.rawValue): value = .integer(item.integer)
            case Int32(CTOML_FLOAT.rawValue): value = .float(item.number)
            case Int32(CTOML_BOOL.rawValue): value = .bool(item.integer != 0)
            default: value = .datetime(text(item.text_offset, item.text_length))
            }
            // Hand the finished value to its parent, closing every container that is now full.
            var finished = value
            var finishedKey = key
            var finishedLine = line
            while true {
                guard var parent = stack.popLast() else {
                    result = finished
                    break
                }
                if parent.isTable {
                    parent.entries.append((finishedKey, finished, finishedLine))
                } else {
                    parent.elements.append(finished)
                }
                parent.remaining -= 1
                if parent.remaining > 0 {
                    stack.append(parent)
                    break
                }
                finished = parent.isTable ? .table(parent.entries) : .array(parent.elements)
                finishedKey = parent.key
                finishedLine = parent.line
            }
        }
        return result
    }
}

struct TOMLParseError: Error, Sendable {
    var message: String
    var line: Int
    var column: Int
}
