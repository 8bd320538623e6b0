// Text helpers that full Foundation's NSString offered, written for FoundationEssentials (issue 15):
// the daemon's modules must not import Foundation.

extension StringProtocol {
    /// Without leading and trailing spaces: Unicode `Zs` and tab, as Foundation's
    /// `trimmingCharacters(in: .whitespaces)`.
    public func trimmingWhitespace() -> String {
        trimmingScalars(where: TextScalars.isWhitespace)
    }

    /// Without leading and trailing spaces and line breaks, as Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`.
    public func trimmingWhitespaceAndNewlines() -> String {
        trimmingScalars { TextScalars.isWhitespace($0) || TextScalars.isNewline($0) }
    }

    /// Without the leading and trailing Unicode scalars that `drop` picks.
    public func trimmingScalars(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop($0) }),
            let last = scalars.lastIndex(where: { !drop($0) })
        else { return "" }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }

    /// Every occurrence of `target` replaced by `replacement`, matched byte for byte (UTF-8), left to
    /// right, as Foundation's `replacingOccurrences(of:with:)` does for the texts we replace. Unlike
    /// `replacing(_:with:)` of the standard library, "\n" also matches inside "\r\n".
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard let head = needle.first else { return String(self) }
        var result: [UInt8] = []
        var found = false
        var i = utf8.startIndex
        while i != utf8.endIndex {
            if utf8[i] == head, utf8[i...].starts(with: needle) {
                if !found {
                    found = true
                    result.reserveCapacity(utf8.count + replacement.utf8.count)
                    result.append(contentsOf: utf8[..<i])
                }
                result.append(contentsOf: replacement.utf8)
                i = utf8.index(i, offsetBy: needle.count)
            } else {
                if found { result.append(utf8[i]) }
                i = utf8.index(after: i)
            }
        }
        return found ? String(decoding: result, as: UTF8.self) : String(self)
    }
}

/// Classes of Unicode scalars, as Foundation's character sets define them.
public enum TextScalars {
    /// `CharacterSet.whitespaces`: general category Zs, and U+0009.
    public static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s.properties.generalCategory == .spaceSeparator
    }

    /// `CharacterSet.newlines`: U+000A–U+000D, U+0085, U+2028, U+2029.
    public static func isNewline(_ s: Unicode.Scalar) -> Bool {
        (0x0A...0x0D).contains(s.value) || s.value == 0x85 || s.value == 0x2028 || s.value == 0x2029
    }

    /// An ASCII letter or digit.
    public static func isASCIIAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }
}
