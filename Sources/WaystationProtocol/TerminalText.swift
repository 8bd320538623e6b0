extension StringProtocol {
    /// The text as a terminal may show it, for any text that came from outside (a rider's note or
    /// place, an alert's summary with its values, a device's error, an audit entry): control
    /// characters (C0, DEL, C1) and line or paragraph separators are written as visible escapes
    /// (`\n`, `\r`, `\t`, `\x1B`, `\u{2028}`), and so are the bidirectional-text controls (U+061C,
    /// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), so such text can neither forge a line of a
    /// table nor reorder what an admin reads. Everything else is kept as it is.
    public var terminalSafe: String {
        guard unicodeScalars.contains(where: TerminalText.needsEscape) else { return String(self) }
        var out = ""
        for s in unicodeScalars {
            guard TerminalText.needsEscape(s) else {
                out.unicodeScalars.append(s)
                continue
            }
            switch s {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(s.value, radix: 16, uppercase: true)
                out += s.value < 0x100 ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex : "\\u{\(hex)}"
            }
        }
        return out
    }
}

/// Which characters `terminalSafe` escapes.
public enum TerminalText {
    public static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F: true  // C0, DEL, C1
        case 0x2028, 0x2029: true  // line and paragraph separators
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidi controls
        default: false
        }
    }

    /// A CSV cell a spreadsheet will not run as a formula: a cell starting with `=`, `+`, `-`, `@`,
    /// tab or CR gets a leading `'` (OWASP's advice on CSV injection).
    public static func csvCell(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
        return "'" + s
    }
}
