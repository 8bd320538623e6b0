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

/// One entry per event. Under systemd, with stderr the journal (`JOURNAL_STREAM` names stderr's
/// device and inode), each goes to the journal through its native protocol with the metadata as
/// fields of its own (`device` as `DEVICE=`, `slot` as `SLOT=`, `message_id` as `MESSAGE_ID=`, …), so
/// `journalctl -u waystation DEVICE=fridge` finds a device's lines; an entry the journal did not take
/// is written to stderr instead, never dropped. Otherwise one line per event on stderr: with a
/// syslog priority prefix (`<3>` … `<7>`) when stderr is the journal, plain readable lines with a
/// timestamp when not.
public struct WaystationLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let journal: Bool
    let sink: JournalSink?
    let identifier: String

    public init(label: String, level: Logger.Level, journal: Bool, sink: JournalSink? = nil) {
        self.label = label
        self.logLevel = level
        self.journal = journal
        self.sink = sink
        self.identifier = ProcessInfo.processInfo.processName
    }

    /// Whether stderr is connected to the journal (systemd.exec(5): `JOURNAL_STREAM` matches
    /// stderr's device and inode).
    public static var stderrIsJournal: Bool { JournalSink.stderrIsJournal() }

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
        let sorted = all.sorted { $0.key < $1.key }
        // The message id is for filters (the journal's MESSAGE_ID=), not for reading.
        let fields = sorted.filter { $0.key != "message_id" }.map { "\($0.key)=\(Self.quote("\($0.value)"))" }
        let message = ([event.message.description] + fields).joined(separator: " ").replacingAll("\n", with: " ")
        if let sink {
            var entry = JournalEntry()
            entry.append("MESSAGE", message)
            entry.append("PRIORITY", "\(Self.priority(event.level))")
            entry.append("SYSLOG_IDENTIFIER", identifier)
            entry.append("CODE_FILE", event.file)
            entry.append("CODE_LINE", "\(event.line)")
            entry.append("CODE_FUNC", event.function)
            for (key, value) in sorted { entry.append(JournalEntry.fieldName(for: key), "\(value)") }
            if sink.send(entry.bytes) { return }
        }
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
