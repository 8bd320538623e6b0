/// How numbers are written for people: integers without a fraction, others to three decimals
/// without trailing zeros. Used by the daemon (alert summaries) and the CLI alike.
public enum ValueText {
    public static func format(_ d: Double) -> String {
        guard d.isFinite else { return d.isNaN ? "NaN" : (d > 0 ? "inf" : "-inf") }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        var s = "\((d * 1000).rounded() / 1000)"
        if s.contains("e") { return s }
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
