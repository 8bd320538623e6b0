// toml-test's decoder interface: one TOML document on stdin, its tagged JSON on stdout
// (`{"type": "integer", "value": "1"}` for each value), exit 1 with the error on stderr when refused.
// Uses the same parser as the config loaders, with dates and times allowed.
#if canImport(Glibc)
    import Glibc
#endif
import WaystationCore
import WaystationProtocol

func readStandardInput() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n > 0 {
            bytes.append(contentsOf: chunk[..<n])
        } else if n == 0 || errno != EINTR {
            return bytes
        }
    }
}

/// A JSON string literal: the control protocol's escaping (quotes, backslashes, control characters).
func quoted(_ text: String) -> String { JSON.string(text).text }

func tagged(_ type: String, _ value: String) -> String { "{\"type\":\"\(type)\",\"value\":\(quoted(value))}" }

/// The document's nesting is bounded by the parser (`TOMLParser.maxDepth`), so recursion is too.
func json(_ value: TOMLValue) -> String {
    switch value {
    case .string(let s): return tagged("string", s)
    case .integer(let i): return tagged("integer", String(i))
    case .float(let d): return tagged("float", d.isNaN ? "nan" : String(d))
    case .bool(let b): return tagged("bool", b ? "true" : "false")
    case .array(let elements): return "[" + elements.map(json).joined(separator: ",") + "]"
    case .table(let table): return json(table)
    case .dateTime(let d):
        let type =
            switch d.kind {
            case .offsetDateTime: "datetime"
            case .localDateTime: "datetime-local"
            case .localDate: "date-local"
            case .localTime: "time-local"
            }
        return tagged(type, d.text)
    }
}

func json(_ table: TOMLTable) -> String {
    "{" + table.keys.compactMap { key in table[key].map { quoted(key) + ":" + json($0) } }.joined(separator: ",") + "}"
}

do {
    let root = try TOMLParser.parse(bytes: readStandardInput(), allowDates: true)
    print(json(root))
} catch {
    let message = Array("toml-test-decoder: \(error)\n".utf8)
    _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}
