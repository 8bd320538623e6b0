#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import CShim
import WaystationCore

/// The journal's native protocol (systemd's "Native Journal Protocol"), without libsystemd: one
/// datagram of `KEY=VALUE` lines per entry to `/run/systemd/journal/socket`, a value holding a
/// newline in the binary-safe form (`KEY\n`, its length as 64-bit little-endian, the bytes, `\n`),
/// and an entry too large for a datagram passed as a sealed memfd.
public final class JournalSink: Sendable {
    public static let defaultPath = "/run/systemd/journal/socket"

    let fd: Int32
    let path: String

    /// A sink on `path`; nil when no datagram socket can be made.
    public init?(path: String = JournalSink.defaultPath) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Whether stderr is the journal, as systemd.exec(5) says to tell: `JOURNAL_STREAM` holds the
    /// device and inode of the stream systemd connected, and they match stderr's (fstat(2)). A
    /// process whose stderr was redirected since (a shell under the unit, a pipe) has another.
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// Sends one entry. Never waits: a journal that stopped reading (its queue full) must not stall
    /// the station's thread. Returns false when the entry did not go out, and the caller writes it
    /// to stderr instead.
    public func send(_ entry: [UInt8]) -> Bool {
        let sent = try? UnixSocketAddress.with(path) { sa, length in
            entry.withUnsafeBytes {
                sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, length)
            }
        }
        if sent == entry.count { return true }
        // Larger than a datagram may be (the socket's send buffer): the same bytes in a memfd.
        guard errno == EMSGSIZE || errno == ENOBUFS else { return false }
        return entry.withUnsafeBytes { ws_journal_send_memfd(fd, path, $0.baseAddress, $0.count) } == 0
    }
}

/// One journal entry, built field by field.
public struct JournalEntry: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// Adds `name=value` (binary-safe when the value holds a newline). `name` must be a valid field
    /// name (see `fieldName(for:)`).
    public mutating func append(_ name: String, _ value: String) {
        bytes.append(contentsOf: name.utf8)
        if value.utf8.contains(UInt8(ascii: "\n")) {
            bytes.append(UInt8(ascii: "\n"))
            var size = UInt64(value.utf8.count).littleEndian
            withUnsafeBytes(of: &size) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: value.utf8)
        } else {
            bytes.append(UInt8(ascii: "="))
            bytes.append(contentsOf: value.utf8)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Fields journald fills in itself or that this entry sets from the event: a metadata key of
    /// that name is kept under `WAYSTATION_` + name.
    static let reserved: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP",
        "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER",
    ]

    /// The journal field for a logger metadata key: upper case, every character that is not a letter,
    /// digit or `_` made `_`, at most 64 bytes, never starting with `_` (journald's trusted fields) or
    /// a digit. `device` gives `DEVICE`, `message_id` gives `MESSAGE_ID`.
    public static func fieldName(for key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { s -> Character in
                (s.isASCII && (("A"..."Z").contains(s) || ("0"..."9").contains(s))) ? Character(s) : "_"
            })
        while name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.first?.isNumber == true || reserved.contains(name) { name = "WAYSTATION_" + name }
        return String(name.prefix(64))
    }
}
