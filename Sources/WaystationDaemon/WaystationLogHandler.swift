#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import WaystationCore

/// One line per event on stderr: with a syslog priority prefix (`<3>` … `<7>`) when stderr is the
/// journal (`JOURNAL_STREAM` set), plain readable lines with a timestamp otherwise.
public struct WaystationLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let journal: Bool

    public init(label: String, level: Logger.Level, journal: Bool) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    /// Whether stderr is connected to the journal.
    public static var stderrIsJournal: Bool {
        ProcessInfo.processInfo.environment["JOURNAL_STREAM"].map { !$0.isEmpty } ?? false
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quote("\($0.value)"))" }
        let message = ([event.message.description] + fields).joined(separator: " ").replacingAll("\n", with: " ")
        let line: String
        if journal {
            line = "<\(Self.priority(event.level))>\(message)\n"
        } else {
            let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
            line = "\(time) \(event.level.rawValue.uppercased()) \(message)\n"
        }
        // One write(2) per line, so concurrent events never interleave inside a line.
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }

    static func quote(_ s: String) -> String {
        s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
            ? "\"\(s.replacingAll("\"", with: "'"))\"" : s
    }
}

extension Logger.Level {
    /// Parses config and flag spellings (`warn` too).
    public init?(configName: String) {
        switch configName.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        case "critical": self = .critical
        default: return nil
        }
    }
}
