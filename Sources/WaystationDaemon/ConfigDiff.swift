import WaystationCore
import WaystationProtocol

/// The keys a reload changed, old → new, for the audit log: `station.capacity: 12 → 14`,
/// `device[fridge].interval: 5s → 10s`, `bus[rs485].baud: (none) → 19200`. Tables of an array
/// (`[[device]]`, `[[bus]]`) are told apart by their `id` or `name`; values of keys that look like
/// secrets are not written.
public enum ConfigDiff {
    public static func changes(old: String, new: String) -> [String] {
        guard let a = try? TOMLParser.parse(old), let b = try? TOMLParser.parse(new) else { return [] }
        let before = flatten(.table(a), prefix: ""), after = flatten(.table(b), prefix: "")
        var lines: [String] = []
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            if isSecret(key) {
                lines.append("\(key): changed")
            } else {
                lines.append("\(key): \(before[key] ?? "(none)") → \(after[key] ?? "(none)")")
            }
        }
        return lines
    }

    static func isSecret(_ key: String) -> Bool {
        let last = key.split(separator: ".").last.map { $0.lowercased() } ?? ""
        return ["secret", "token", "password", "key", "authorization", "header"].contains {
            PlainText.contains($0, in: last)
        }
    }

    static func flatten(_ value: TOMLValue, prefix: String) -> [String: String] {
        switch value {
        case .table(let t):
            var out: [String: String] = [:]
            for k in t.keys {
                guard let v = t[k] else { continue }
                out.merge(flatten(v, prefix: prefix.isEmpty ? k : "\(prefix).\(k)")) { a, _ in a }
            }
            return out
        case .array(let items) where !items.isEmpty && items.allSatisfy({ $0.table != nil }):
            var out: [String: String] = [:]
            for (i, item) in items.enumerated() {
                let t = item.table
                let name = t?["id"]?.string ?? t?["name"]?.string ?? String(i)
                out.merge(flatten(item, prefix: "\(prefix)[\(name)]")) { a, _ in a }
            }
            return out
        default:
            return [prefix: text(value)]
        }
    }

    static func text(_ value: TOMLValue) -> String {
        switch value {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .float(let d): ValueText.format(d)
        case .bool(let b): b ? "true" : "false"
        case .array(let a): "[" + a.map(text).joined(separator: ", ") + "]"
        case .table: "{…}"
        case .dateTime(let d): d.text
        }
    }
}
