/// Finding and replacing a literal piece of text, byte by byte (UTF-8), with the standard library alone.
///
/// `String`'s `contains(_:)`, `firstRange(of:)` and `replacing(_:with:)` for a string needle live in
/// `_StringProcessing`, which brings the regex parser with it. The static link cannot split either
/// library's code (each is one section), so a single call on a path the daemon runs keeps all of
/// them resident: 860 KiB of its memory (README, "Memory"). The daemon's needles are plain ASCII
/// words and punctuation; UTF-8 is self-synchronising, so a byte match of valid UTF-8 starts and
/// ends on scalar boundaries.
public enum PlainText {
    /// The first range of `needle` in `text`; nil when it is not there or `needle` is empty.
    public static func firstRange(of needle: some StringProtocol, in text: Substring) -> Range<String.Index>? {
        let bytes = Array(needle.utf8)
        guard let first = bytes.first else { return nil }
        let utf8 = text.utf8
        var from = utf8.startIndex
        while let hit = utf8[from...].firstIndex(of: first) {
            if utf8[hit...].starts(with: bytes) {
                return hit..<utf8.index(hit, offsetBy: bytes.count)
            }
            from = utf8.index(after: hit)
        }
        return nil
    }

    /// Whether `needle` occurs in `text`.
    public static func contains(_ needle: some StringProtocol, in text: some StringProtocol) -> Bool {
        firstRange(of: needle, in: Substring(text)) != nil
    }

    /// `text` with every occurrence of `target` replaced, left to right, without overlaps.
    public static func replacing(_ target: some StringProtocol, with replacement: String, in text: String) -> String {
        var out = ""
        var rest = text[...]
        while let hit = firstRange(of: target, in: rest) {
            out += rest[..<hit.lowerBound]
            out += replacement
            rest = rest[hit.upperBound...]
        }
        out += rest
        return out
    }
}
