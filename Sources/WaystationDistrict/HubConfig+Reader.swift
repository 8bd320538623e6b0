import Foundation
import WaystationLink

extension HubConfig {
    /// Typed reads with errors naming the key.
    struct Reader {
        let path: String
        let dir: String

        func name(_ table: String, _ key: String) -> String { table.isEmpty ? key : "[\(table)] \(key)" }

        func known(_ value: TOMLValue, _ keys: [String], _ table: String) throws(HubConfigError) {
            for key in value.keys where !keys.contains(key) {
                throw HubConfigError(
                    file: path, key: name(table, key),
                    "unknown key (known: \(keys.joined(separator: ", ")))")
            }
        }

        func table(_ parent: TOMLValue, _ key: String) throws(HubConfigError) -> TOMLValue {
            guard let value = parent[key] else { throw HubConfigError(file: path, key: "[\(key)]", "is missing") }
            guard case .table = value else {
                throw HubConfigError(file: path, key: "[\(key)]", "must be a table, not \(value.typeName)")
            }
            return value
        }

        func optionalString(_ parent: TOMLValue, _ key: String, _ table: String) throws(HubConfigError) -> String? {
            guard let value = parent[key] else { return nil }
            guard case .string(let s) = value, !s.isEmpty else {
                throw HubConfigError(file: path, key: name(table, key), "must be a non-empty string")
            }
            return s
        }

        func string(_ parent: TOMLValue, _ key: String, _ table: String) throws(HubConfigError) -> String {
            guard let s = try optionalString(parent, key, table) else {
                throw HubConfigError(file: path, key: name(table, key), "is missing")
            }
            return s
        }

        func optionalInt(_ parent: TOMLValue, _ key: String, _ table: String) throws(HubConfigError) -> Int? {
            guard let value = parent[key] else { return nil }
            guard case .integer(let n) = value, let i = Int(exactly: n) else {
                throw HubConfigError(file: path, key: name(table, key), "must be an integer, not \(value.typeName)")
            }
            return i
        }

        /// A file path, made absolute against the config's folder.
        func file(_ parent: TOMLValue, _ key: String, _ table: String) throws(HubConfigError) -> String {
            let p = try string(parent, key, table)
            return p.hasPrefix("/") ? p : (dir.isEmpty ? p : "\(dir)/\(p)")
        }

        /// `listen = "host:port"` (`[::1]:port` for IPv6; port 0 picks a free one).
        func listen(_ parent: TOMLValue, _ table: String) throws(HubConfigError) -> Listen {
            let text = try string(parent, "listen", table)
            guard let colon = text.lastIndex(of: ":") else {
                throw HubConfigError(file: path, key: name(table, "listen"), "\"\(text)\" is not HOST:PORT")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw HubConfigError(file: path, key: name(table, "listen"), "\"\(text)\" is not HOST:PORT")
            }
            return Listen(host: host, port: port)
        }

        func categories(_ root: TOMLValue) throws(HubConfigError) -> [DistrictCategory] {
            guard let value = root["category"] else { return [] }
            guard case .array(let items) = value else {
                throw HubConfigError(file: path, key: "[[category]]", "must be an array of tables")
            }
            var out: [DistrictCategory] = []
            for (n, item) in items.enumerated() {
                let (t, id) = try itemID(item, n, "category", extra: ["points"], taken: out.map(\.id))
                guard let points = try optionalInt(item, "points", t), (0...10_000).contains(points) else {
                    throw HubConfigError(file: path, key: name(t, "points"), "must be an integer 0...10000")
                }
                let names = try itemNames(item, t)
                out.append(DistrictCategory(id: id, name: names.name, nameZh: names.nameZh, points: points))
            }
            return out
        }

        /// Item `n` of `[[array]]`: a table of `id`, `name`, `name_zh` and `extra` keys, whose `id` is 1-32 of
        /// a-z 0-9 _ - and not in `taken`. Its key prefix for errors, and its id.
        func itemID(
            _ item: TOMLValue, _ n: Int, _ array: String, extra: [String], taken: [String]
        ) throws(HubConfigError) -> (table: String, id: String) {
            let t = "\(array) #\(n + 1)"
            guard case .table = item else {
                throw HubConfigError(file: path, key: "[[\(array)]] #\(n + 1)", "must be a table")
            }
            try known(item, ["id", "name", "name_zh"] + extra, t)
            let id = try string(item, "id", t)
            guard id.range(of: "^[a-z0-9_-]{1,32}$", options: .regularExpression) != nil else {
                throw HubConfigError(file: path, key: name(t, "id"), "must be 1-32 of a-z 0-9 _ -")
            }
            guard !taken.contains(id) else {
                throw HubConfigError(file: path, key: name(t, "id"), "\"\(id)\" is defined twice")
            }
            return (t, id)
        }

        /// An item's `name` (required) and `name_zh` (default: the name).
        func itemNames(_ item: TOMLValue, _ t: String) throws(HubConfigError) -> (name: String, nameZh: String) {
            let display = try string(item, "name", t)
            return (display, try optionalString(item, "name_zh", t) ?? display)
        }
    }
}
