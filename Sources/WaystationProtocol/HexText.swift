/// Lowercase hexadecimal text, without `String(format:)`.
public enum HexText {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Two digits per byte: `[0x0a, 0xff]` → `0aff`.
    public static func bytes(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Sixteen digits, zero-padded, as `String(format: "%016llx", value)`.
    public static func padded(_ value: UInt64) -> String {
        var text = [UInt8](repeating: 0, count: 16)
        var rest = value
        for i in stride(from: 15, through: 0, by: -1) {
            text[i] = digits[Int(rest & 0x0f)]
            rest >>= 4
        }
        return String(decoding: text, as: UTF8.self)
    }
}
