import Foundation
import WaystationLink

/// Checks on what stations send; errors name the field (and the report id), never a rider.
enum Validate {
    static func text(_ s: String, _ field: String, max: Int) throws(HubError) {
        guard !s.isEmpty else { throw HubError.badRequest("\(field): empty") }
        guard s.count <= max else { throw HubError.badRequest("\(field): longer than \(max) characters") }
        guard !s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }) else {
            throw HubError.badRequest("\(field): control characters")
        }
    }

    /// RFC 3339 with an offset ("2026-12-07T08:15:00+08:00", "…Z", fractions allowed).
    static func time(_ s: String, _ field: String) throws(HubError) {
        let pattern = #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"#
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard s.range(of: pattern, options: .regularExpression) != nil,
            plain.date(from: s) ?? fractional.date(from: s) != nil
        else { throw HubError.badRequest("\(field): \"\(s.prefix(40))\" is not an RFC 3339 time") }
    }

    /// A district pseudonym: 32 lowercase hex digits.
    static func isPseudonym(_ s: String) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func report(_ r: DistrictReport) throws(HubError) {
        let at = "report \(r.id)"
        guard r.id > 0 else { throw HubError.badRequest("\(at): id must be positive") }
        try text(r.key, "\(at): key", max: 128)
        try text(r.category, "\(at): category", max: 64)
        try text(r.location, "\(at): location", max: 500)
        if let note = r.note { try text(note, "\(at): note", max: 2000) }
        if let rider = r.rider, !isPseudonym(rider) {
            throw HubError.badRequest("\(at): rider is not a district pseudonym")
        }
        try time(r.created, "\(at): created")
    }

    static func visits(_ d: DayVisits) throws(HubError) {
        guard d.day.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else {
            throw HubError.badRequest("day \"\(d.day.prefix(20))\": not YYYY-MM-DD")
        }
        try text(d.category, "day \(d.day): category", max: 64)
        guard (0...1_000_000).contains(d.visits) else {
            throw HubError.badRequest("day \(d.day) \(d.category): visits must be 0...1000000")
        }
    }
}
