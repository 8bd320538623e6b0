#if canImport(Glibc)
    import Glibc
#endif

/// Parses durations written as a number with a unit: `500ms`, `5s`, `10m`, `1h`, `1.5s`, `2d`.
///
/// Durations come from config files and from control parameters (a silence's length), so the
/// parser is the one place that keeps them finite and bounded: nothing longer than ten years.
public enum DurationParser {
    /// The longest duration accepted anywhere (ten years).
    public static let maximum: Duration = .seconds(10 * 366 * 86400)

    /// Returns nil when the text is not a finite number ≥ 0 followed by ms, s, m, h or d, or when it is
    /// longer than `maximum`.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces
        // "5m" must not be read as "5" + "m" of "ms": "ms" is checked first.
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count)).trimmingSpaces
            guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else { return nil }
            let ms = value * factor * 1000
            guard ms.isFinite, ms <= Double(maximum.milliseconds) else { return nil }
            return .milliseconds(Int64(ms.rounded()))
        }
        return nil
    }

    /// Formats a duration the way config files write them (`250ms`, `5s`, `10m`, `2h`).
    public static func format(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        if ms % 86_400_000 == 0, ms >= 86_400_000 { return "\(ms / 86_400_000)d" }
        if ms % 3_600_000 == 0, ms >= 3_600_000 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0, ms >= 60_000 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0, ms >= 1000 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Seconds as a Double.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
