#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why a document was refused.
public enum JSONRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not valid JSON.
    case invalid
    /// An object names the same key twice (JSONDecoder would keep one of them silently).
    case duplicateKey(String)

    public var description: String {
        switch self {
        case .invalid: "not valid JSON"
        case .duplicateKey(let key): "duplicate key \"\(key)\""
        }
    }
}

extension JSON {
    /// Parses one JSON document, refusing an object that names a key twice: `{"id":"a","id":"b"}`
    /// means one thing to us and another to whoever checked it first.
    public static func parseStrict(_ data: Data) -> Result<JSON, JSONRefusal> {
        guard let json = try? JSONDecoder().decode(JSON.self, from: data) else { return .failure(.invalid) }
        if let key = data.withUnsafeBytes({ firstDuplicateKey($0) }) { return .failure(.duplicateKey(key)) }
        return .success(json)
    }

    /// Parses one JSON document from bytes, refusing duplicate keys.
    public static func parseStrict(_ bytes: some Collection<UInt8>) -> Result<JSON, JSONRefusal> {
        parseStrict(Data(bytes))
    }

    /// The first key some object of a valid JSON document repeats (compared after unescaping, so
    /// `"a"` and `"\u0061"` are one key), or nil.
    static func firstDuplicateKey(_ bytes: UnsafeRawBufferPointer) -> String? {
        // One entry per open container: the keys seen so far for an object, nil for an array.
        var open: [Set<String>?] = []
        var expectKey = false
        var i = 0
        let n = bytes.count
        while i < n {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                open.append([])
                expectKey = true
            case UInt8(ascii: "["):
                open.append(nil)
                expectKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = open.popLast()
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = open.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                let start = i + 1
                var escaped = false
                i = start
                while i < n, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        escaped = true
                        i += 1
                    }
                    i += 1
                }
                if expectKey, let last = open.indices.last {
                    expectKey = false
                    let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<min(i, n)])
                    let key = escaped ? unescape(raw) : String(decoding: raw, as: UTF8.self)
                    if open[last]?.insert(key).inserted == false { return key }
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// A string's text from its escaped form (between the quotes).
    private static func unescape(_ raw: UnsafeRawBufferPointer) -> String {
        var quoted = Data([UInt8(ascii: "\"")])
        quoted.append(contentsOf: raw)
        quoted.append(UInt8(ascii: "\""))
        return (try? JSONDecoder().decode(String.self, from: quoted)) ?? String(decoding: raw, as: UTF8.self)
    }
}
