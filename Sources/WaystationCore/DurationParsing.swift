import Foundation

/// Parses durations written as a number with a unit: `500ms`, `5s`, `10m`, `1h`, `1.5s`.
public enum DurationParser {
    /// Returns nil when the text is not a positive or zero number followed by ms, s, m or h.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else {
                return nil
            }
            // "5m" must not be read as "5" + "m" of "ms": the loop order checks "ms" first.
            return .milliseconds(Int64((value * factor * 1000).rounded()))
        }
        return nil
    }

    /// Formats a duration the way config files write them (`250ms`, `5s`, `10m`).
    public static func format(_ duration: Duration) -> String {
        let ms = duration.milliseconds
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
