import CShim
import Foundation
import Glibc
import Testing
import WaystationDaemon

/// The journal's native protocol as the daemon speaks it, against a real datagram socket standing in
/// for journald's: field names, the binary-safe form, the memfd for an entry too large for a
/// datagram, and the `JOURNAL_STREAM` check.
@Suite("journal native protocol")
struct JournalSinkTests {
    /// A bound datagram socket in a fresh directory, as journald's `/run/systemd/journal/socket`.
    final class FakeJournal {
        let dir: String
        let path: String
        let fd: Int32

        init() throws {
            dir =
                FileManager.default.temporaryDirectory.appendingPathComponent("ws-jn-\(UUID().uuidString.prefix(8))")
                .path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            path = dir + "/socket"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            #expect(bound == 0)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(fd)
            try? FileManager.default.removeItem(atPath: dir)
        }

        /// The next entry: a datagram's payload, or the contents of the memfd it passed (and whether
        /// one was passed, sealed against writes).
        func receive() -> (bytes: [UInt8], memfd: Bool, sealed: Bool)? {
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var passed: Int32 = -1
            let n = buffer.withUnsafeMutableBytes { ws_recv_with_fd(fd, $0.baseAddress, $0.count, &passed) }
            guard n >= 0 else { return nil }
            guard passed >= 0 else { return (Array(buffer.prefix(n)), false, false) }
            defer { close(passed) }
            let seals = fcntl(passed, 1034)  // F_GET_SEALS
            var st = stat()
            fstat(passed, &st)
            var contents = [UInt8](repeating: 0, count: Int(st.st_size))
            let read = contents.withUnsafeMutableBytes { pread(passed, $0.baseAddress, $0.count, 0) }
            guard read == contents.count else { return nil }
            // F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
            return (contents, true, seals >= 0 && seals & 0xE == 0xE)
        }
    }

    @Test("a value with a newline is sent in the binary-safe form; others as KEY=VALUE")
    func encoding() {
        var entry = JournalEntry()
        entry.append("MESSAGE", "device online → offline")
        entry.append("ERROR", "line one\nline two")
        let size = UInt64(17).littleEndian
        let expected =
            Array("MESSAGE=device online → offline\nERROR\n".utf8) + withUnsafeBytes(of: size) { Array($0) }
            + Array("line one\nline two\n".utf8)
        #expect(entry.bytes == expected)
    }

    @Test("metadata keys become valid journal field names")
    func fieldNames() {
        #expect(JournalEntry.fieldName(for: "device") == "DEVICE")
        #expect(JournalEntry.fieldName(for: "message_id") == "MESSAGE_ID")
        #expect(JournalEntry.fieldName(for: "retry-in") == "RETRY_IN")
        #expect(JournalEntry.fieldName(for: "_trusted") == "TRUSTED")
        #expect(JournalEntry.fieldName(for: "message") == "WAYSTATION_MESSAGE")
        #expect(JournalEntry.fieldName(for: "priority") == "WAYSTATION_PRIORITY")
        #expect(JournalEntry.fieldName(for: "2nd") == "WAYSTATION_2ND")
        #expect(JournalEntry.fieldName(for: String(repeating: "k", count: 100)).count == 64)
    }

    @Test("an entry goes out as one datagram")
    func datagram() throws {
        let journal = try FakeJournal()
        let sink = try #require(JournalSink(path: journal.path))
        var entry = JournalEntry()
        entry.append("MESSAGE", "device unknown → online")
        entry.append("DEVICE", "fridge")
        #expect(sink.send(entry.bytes))
        let got = try #require(journal.receive())
        #expect(!got.memfd)
        #expect(got.bytes == entry.bytes)
    }

    @Test("an entry too large for a datagram goes whole in a sealed memfd")
    func tooLarge() throws {
        let journal = try FakeJournal()
        let sink = try #require(JournalSink(path: journal.path))
        var entry = JournalEntry()
        entry.append("MESSAGE", "config reload refused")
        entry.append("ERRORS", String(repeating: "station.toml:12: a long complaint\n", count: 40_000))
        #expect(entry.bytes.count > 1_000_000)
        #expect(sink.send(entry.bytes))
        let got = try #require(journal.receive())
        #expect(got.memfd)
        #expect(got.sealed)
        #expect(got.bytes == entry.bytes)
    }

    @Test("no journal listening: send reports it, so the line goes to stderr instead")
    func noJournal() throws {
        let sink = try #require(JournalSink(path: "/nonexistent-\(UUID().uuidString.prefix(8))/socket"))
        var entry = JournalEntry()
        entry.append("MESSAGE", "x")
        #expect(!sink.send(entry.bytes))
    }

    @Test("JOURNAL_STREAM counts only when it names stderr's device and inode")
    func journalStream() {
        var st = stat()
        #expect(fstat(2, &st) == 0)
        let mine = "\(UInt64(st.st_dev)):\(UInt64(st.st_ino))"
        #expect(JournalSink.stderrIsJournal(environment: ["JOURNAL_STREAM": mine]))
        #expect(!JournalSink.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(UInt64(st.st_dev)):1"]))
        #expect(!JournalSink.stderrIsJournal(environment: ["JOURNAL_STREAM": "yes"]))
        #expect(!JournalSink.stderrIsJournal(environment: [:]))
    }
}
