/// A rider's id as a card reader, keypad, kiosk or `waystationctl` gives it, checked by the one rule
/// every side applies (the web face before it forwards a scan, the daemon before it hashes), and
/// normalised so that one card or phone number is one rider however it was typed: ASCII letters are
/// lowercased and the separators space, `-`, `_` and `.` are dropped (`ALTC-1`, `altc 1` and
/// `altc1` are one rider). The keyed hash is computed over `normalized`, which for an id that was
/// already lowercase without separators is the id itself, so its pseudonym is the one it always had.
public struct RiderID: Sendable, Hashable {
    /// What the pseudonym is computed over. Never logged, stored or sent back.
    public let normalized: String

    /// Longest id accepted, in characters, before normalising.
    public static let maxLength = 64

    /// Checks and normalises `raw` (leading and trailing whitespace ignored). The error's words never
    /// repeat the id.
    public init(_ raw: String) throws(RiderIDError) {
        var scalars = Substring(raw).unicodeScalars
        while let first = scalars.first, Self.isSpace(first) { scalars.removeFirst() }
        while let last = scalars.last, Self.isSpace(last) { scalars.removeLast() }
        guard !scalars.isEmpty else { throw RiderIDError("the rider id is empty") }
        guard scalars.count <= Self.maxLength else {
            throw RiderIDError("the rider id is longer than \(Self.maxLength) characters")
        }
        var out = String.UnicodeScalarView()
        var alphanumerics = 0
        for s in scalars {
            switch s.value {
            case 0x30...0x39, 0x61...0x7A:  // 0-9, a-z
                out.append(s)
                alphanumerics += 1
            case 0x41...0x5A:  // A-Z
                out.append(Unicode.Scalar(UInt8(s.value + 0x20)))
                alphanumerics += 1
            case 0x2B:  // + (a phone number's country prefix) is kept
                out.append(s)
            case 0x20, 0x2D, 0x5F, 0x2E:  // space - _ . are separators, dropped
                continue
            default:
                throw RiderIDError("the rider id may hold only letters, digits, spaces and + - _ .")
            }
        }
        guard alphanumerics > 0 else { throw RiderIDError("the rider id has no letters or digits") }
        normalized = String(out)
    }

    private static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r"
    }
}

/// Why a rider id was refused, in words safe to show (never the id itself).
public struct RiderIDError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
