import Foundation
import Synchronization
import Testing
import WaystationCore
import WaystationDaemon

/// The helpers that replace full Foundation in the daemon (issue 15) give what Foundation gave.
@Suite("FoundationEssentials replacements")
struct EssentialsTextTests {
    static let paths = [
        "", "/", "/a", "/a/", "/a/b", "/a/b/", "a/b", "a//b", "/a//b//", "./a", "../x/y", "station.db",
        "/var/lib/waystation/station.db", "a/./b", "///a", "/var/lib/waystation/",
    ]

    @Test("path arithmetic matches NSString's", arguments: paths)
    func pathsMatchNSString(_ path: String) {
        let ns = path as NSString
        #expect(PathText.parent(path) == ns.deletingLastPathComponent)
        #expect(PathText.lastComponent(path) == ns.lastPathComponent)
        #expect(PathText.appending(path, "x.toml") == ns.appendingPathComponent("x.toml"))
        #expect(PathText.appending(path, "") == ns.appendingPathComponent(""))
        #expect(PathText.appending(path, "/y/") == ns.appendingPathComponent("/y/"))
    }

    @Test("path arithmetic where NSString crashes or is odd")
    func pathsOdd() {
        // NSString.deletingLastPathComponent traps on a one-letter relative path on Linux.
        #expect(PathText.parent("a") == "")
        #expect(PathText.parent("a/") == "")
        #expect(PathText.lastComponent("a/") == "a")
        #expect(PathText.parent("//") == "/")
    }

    static let texts = [
        "", " ", "\t x \t", "\u{a0}x\u{2003}", " a b ", "\n x \n", "\r\nx\r\n", "\u{85}x\u{2028}", "e\u{301} ",
        " \u{301}x", "卡 0042 ", "a\r\nb", "\"quoted\" \"", "{device} at {value} °C on {device}", "__1_000__",
    ]

    @Test("trimming and replacing match Foundation's", arguments: texts)
    func textMatchesFoundation(_ text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingWhitespaceAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        for (target, replacement) in [("\n", " "), ("\"", "'"), ("{device}", "fridge"), ("_", ""), ("x", "yy")] {
            #expect(
                text.replacingAll(target, with: replacement)
                    == text.replacingOccurrences(of: target, with: replacement))
        }
        #expect(Substring(text).trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
    }

    @Test("hex text matches String(format:)")
    func hex() {
        for value: UInt64 in [0, 1, 0xabc, 0xdead_beef, .max, 0x0123_4567_89ab_cdef] {
            #expect(HexText.padded(value) == String(format: "%016llx", value))
        }
        #expect(HexText.bytes([0x00, 0x0a, 0xff, 0x7f]) == "000aff7f")
    }

    @Test("files are read whole; errors say what the system said")
    func readFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("essentials-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let big = String(repeating: "0123456789abcdef\n", count: 20_000)
        try big.write(toFile: dir + "/big.txt", atomically: false, encoding: .utf8)
        #expect(try SystemIO.readText(dir + "/big.txt") == big)
        try Data([0xEF, 0xBB, 0xBF, 0x61]).write(to: URL(fileURLWithPath: dir + "/bom.txt"))
        #expect(try SystemIO.readText(dir + "/bom.txt") == "a")
        try Data([0x61, 0xFF]).write(to: URL(fileURLWithPath: dir + "/bad.txt"))
        #expect(throws: SystemIO.ReadError.self) { try SystemIO.readText(dir + "/bad.txt") }
        do {
            _ = try SystemIO.readText(dir + "/missing.txt")
            Issue.record("read a missing file")
        } catch {
            #expect("\(error)" == "No such file or directory")
        }
    }

    @Test("station time agrees with Foundation's calendar; local date-times parse")
    func localTime() throws {
        var utcCalendar = Calendar(identifier: .gregorian)
        utcCalendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        for (zone, calendar) in [(LocalTime.utc, utcCalendar), (LocalTime.station, Calendar.current)] {
            for seconds in [0.0, 86_399.5, 1_700_000_000, 1_772_438_400, 1_790_000_000.75, -1.5] {
                let date = Date(timeIntervalSince1970: seconds)
                let c = zone.components(of: date)
                let f = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
                #expect(
                    [c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday]
                        == [f.year, f.month, f.day, f.hour, f.minute, f.second, f.weekday])
            }
        }
        #expect(LocalTime.utc.parse("2026-03-02") == Date(timeIntervalSince1970: 1_772_409_600))
        #expect(LocalTime.utc.parse("2026-03-02T08:20") == Date(timeIntervalSince1970: 1_772_439_600))
        #expect(LocalTime.utc.parse("2026-03-02T08:20:05") == Date(timeIntervalSince1970: 1_772_439_605))
        for bad in [
            "2026-02-30", "2026-13-01", "2026-03-02T24:00", "26-03-02", "2026-03-02T08", "2026-03-02 08:20", "",
        ] {
            #expect(LocalTime.utc.parse(bad) == nil, "\(bad)")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        #expect(LocalTime.station.parse("2026-07-15T13:45:10") == formatter.date(from: "2026-07-15T13:45:10"))
    }

    @Test("a thread condition hands work to a dedicated thread")
    func threads() async {
        let condition = ThreadCondition()
        let box = Mutex<(queued: [Int], done: [Int], stop: Bool)>(([], [], false))
        let finished = Mutex<CheckedContinuation<Void, Never>?>(nil)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            finished.withLock { $0 = c }
            OSThread.start(name: "test-worker-with-a-long-name", stackSize: 128 << 10) {
                while true {
                    condition.lock()
                    var next: (Int?, Bool) = (nil, false)
                    while true {
                        next = box.withLock { b in (b.queued.isEmpty ? nil : b.queued.removeFirst(), b.stop) }
                        if next.0 != nil || next.1 { break }
                        condition.wait()
                    }
                    condition.unlock()
                    guard let job = next.0 else { break }
                    OSThread.sleep(.milliseconds(1))
                    box.withLock { $0.done.append(job) }
                }
                finished.withLock { $0?.resume() }
            }
            for i in 0..<20 {
                box.withLock { $0.queued.append(i) }
                condition.lock()
                condition.signal()
                condition.unlock()
            }
            box.withLock { $0.stop = true }
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        #expect(box.withLock { $0.done } == Array(0..<20))
    }

    static let haystacks = [
        "", "a", "://", "https://u:p@h/x", "abcabc", "aaa", "\"quoted\" \"\"", "温度:12:30", "café://é", "x::y:",
    ]
    static let needles = ["", "a", "://", ":", "\"", "aa", "bc", "é", "zz"]

    @Test("plain-text search and replace match Foundation's", arguments: haystacks)
    func plainTextMatchesFoundation(_ text: String) {
        for needle in Self.needles {
            let ours = PlainText.firstRange(of: needle, in: text[...])
            let theirs = needle.isEmpty ? nil : text.range(of: needle)
            #expect(ours == theirs, "firstRange(of: \(needle)) in \(text)")
            #expect(PlainText.contains(needle, in: text) == (theirs != nil))
            if !needle.isEmpty {
                #expect(
                    PlainText.replacing(needle, with: "<>", in: text)
                        == text.replacingOccurrences(of: needle, with: "<>"))
            }
        }
    }

    @Test("a webhook URL's password never reaches a message")
    func redactsPassword() {
        #expect(HTTPRedaction.redact("https://ops:s3cr3t@alerts.example/hook") == "https://ops:***@alerts.example/hook")
        #expect(HTTPRedaction.redact("http://ops@h:8080/x") == "http://ops:***@h:8080/x")
        #expect(HTTPRedaction.redact("https://alerts.example/hook?a=b@c") == "https://alerts.example/hook?a=b@c")
        #expect(HTTPRedaction.redact("no scheme user:pw@host") == "no scheme user:pw@host")
        // A password holding an unescaped `@`: the last one in the authority ends the user info.
        #expect(HTTPRedaction.redact("https://ops:p@ss@alerts.example/") == "https://ops:***@alerts.example/")
    }

    @Test("a reload's audit line hides values of secret keys and shows the rest")
    func configDiffHidesSecrets() {
        let old = "[notify]\nwebhook_token = \"abc\"\n[station]\ncapacity = 12\n"
        let new = "[notify]\nwebhook_token = \"xyz\"\n[station]\ncapacity = 14\n"
        #expect(
            ConfigDiff.changes(old: old, new: new) == ["notify.webhook_token: changed", "station.capacity: 12 → 14"])
    }
}
