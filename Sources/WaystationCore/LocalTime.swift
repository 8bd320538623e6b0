#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Wall-clock time in the station's time zone (`TZ`, else `/etc/localtime`), through the C library.
///
/// FoundationEssentials has no time zone database (its `Calendar.current` is always GMT), and the
/// daemon does not link the rest of Foundation, so station time comes from `localtime_r`/`mktime`.
public struct LocalTime: Sendable {
    /// The parts of a moment on the wall clock.
    public struct Components: Sendable, Equatable {
        public var year: Int
        /// 1–12.
        public var month: Int
        /// 1–31.
        public var day: Int
        /// 0–23.
        public var hour: Int
        public var minute: Int
        public var second: Int
        /// 1 = Sunday … 7 = Saturday, as `Calendar` numbers weekdays.
        public var weekday: Int
    }

    private let utc: Bool

    /// The station's time zone.
    public static let station = LocalTime(utc: false)
    /// UTC (for tests and figures that must not depend on the machine).
    public static let utc = LocalTime(utc: true)

    private init(utc: Bool) {
        self.utc = utc
        if !utc { tzset() }
    }

    /// The wall-clock parts of `date` (seconds rounded down).
    public func components(of date: Date) -> Components {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        if utc { gmtime_r(&seconds, &parts) } else { localtime_r(&seconds, &parts) }
        return Components(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
            hour: Int(parts.tm_hour), minute: Int(parts.tm_min), second: Int(parts.tm_sec),
            weekday: Int(parts.tm_wday) + 1)
    }

    /// Whether a time zone name is one the C library can load (a file under /usr/share/zoneinfo).
    public static func zoneExists(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else { return false }
        var info = stat()
        return stat("/usr/share/zoneinfo/" + name, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Makes `zone` the station's time zone for this process (before any thread reads the clock:
    /// at start). nil leaves the system's.
    public static func use(zone: String?) {
        guard let zone else { return }
        setenv("TZ", ":" + zone, 1)
        tzset()
    }

    /// Seconds east of UTC at `date` (+28800 in Wuhan), daylight saving included.
    public func offset(at date: Date) -> Int {
        guard !utc else { return 0 }
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        return Int(parts.tm_gmtoff)
    }

    /// `2026-12-07T05:40:59+08:00`: the wall clock here with its offset (ISO 8601, machine-read).
    public func iso8601(_ date: Date) -> String {
        let c = components(of: date)
        let off = offset(at: date)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let zone = off == 0 ? "Z" : "\(off < 0 ? "-" : "+")\(two(abs(off) / 3600)):\(two(abs(off) % 3600 / 60))"
        return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))" + zone
    }

    /// The moment a wall-clock time names; nil when it does not exist (February 30, hour 24).
    public func date(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second), (1...9999).contains(year)
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        parts.tm_isdst = -1
        let seconds = utc ? timegm(&parts) : mktime(&parts)
        // mktime normalises (February 30 → March 2): a date that moved did not exist.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Parses `yyyy-MM-dd`, `yyyy-MM-ddTHH:mm` or `yyyy-MM-ddTHH:mm:ss` as a wall-clock time here.
    public func parse(_ text: String) -> Date? {
        let halves = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let day = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard day.count == 3, let y = Self.number(day[0], digits: 4...4), let m = Self.number(day[1], digits: 1...2),
            let d = Self.number(day[2], digits: 1...2)
        else { return nil }
        guard halves.count == 2 else { return date(year: y, month: m, day: d) }
        let time = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 2 || time.count == 3, let h = Self.number(time[0], digits: 1...2),
            let min = Self.number(time[1], digits: 1...2)
        else { return nil }
        var s = 0
        if time.count == 3 {
            guard let sec = Self.number(time[2], digits: 1...2) else { return nil }
            s = sec
        }
        return date(year: y, month: m, day: d, hour: h, minute: min, second: s)
    }

    private static func number(_ text: Substring, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(text)
    }
}
