import WaystationCore

/// Bounds on what a control client may send: counts, cursors and free text.
enum Limits {
    /// A count within 1…max (default when absent).
    static func count(_ value: Int?, _ name: String, default def: Int, max: Int) throws(VarlinkError) -> Int {
        guard let value else { return def }
        guard (1...max).contains(value) else { throw .invalidParameter(name, reason: "1 to \(max)") }
        return value
    }

    /// A paging cursor (a row id, as `next` gave it).
    static func cursor(_ text: String?) throws(VarlinkError) -> Int64? {
        guard let text else { return nil }
        guard let n = Int64(text), n >= 0 else {
            throw .invalidParameter("cursor", reason: "as a reply's next gave it")
        }
        return n
    }

    /// Free text for the audit log and the alerts: at most `max` characters, printable (no control
    /// characters, so it cannot forge a log line or a table row).
    static func text(_ value: String?, _ name: String, max: Int) throws(VarlinkError) -> String? {
        guard let value else { return nil }
        guard value.count <= max else { throw .invalidParameter(name, reason: "at most \(max) characters") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidParameter(name, reason: "no control characters (newlines, tabs, escapes)")
        }
        return value
    }
}
