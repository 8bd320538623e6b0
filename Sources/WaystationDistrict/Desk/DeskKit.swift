import Foundation
import Hummingbird
import NIOCore

/// A staff member's role: each sees and does what the ones before it do, and more.
public enum DeskRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Sees the fleet, alerts, reports, notices and services.
    case viewer
    /// Also judges and dispatches reports, looks up riders and records gifts, publishes notices and
    /// services, silences alerts.
    case desk
    /// Also manages staff and reads the audit log.
    case admin

    var rank: Int { DeskRole.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: DeskRole, b: DeskRole) -> Bool { a.rank < b.rank }
}

/// The desk's language: Simplified Chinese first, English with the toggle (cookie `desk_lang`).
public enum DeskLang: String, Sendable, CaseIterable {
    case zh, en
    public var htmlLang: String { self == .zh ? "zh-CN" : "en" }
}

/// A signed-in staff member, as the auth middleware found them.
public struct DeskSession: Sendable, Equatable {
    public var staff: String
    public var role: DeskRole
    /// The session's CSRF token: every change carries it (form field `csrf` or `X-CSRF-Token`).
    public var csrf: String
    public init(staff: String, role: DeskRole, csrf: String) {
        self.staff = staff
        self.role = role
        self.csrf = csrf
    }
}

/// Markup, escaped by construction: interpolating text escapes it; only `HTML` values and literals
/// we wrote go in raw. There is no generic interpolation, so nothing slips in unescaped.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String

    /// Literal markup written in our source (never user text).
    public init(raw: String) { text = raw }
    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }
    public var description: String { text }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(raw: a.text + b.text) }
    public static func += (a: inout HTML, b: HTML) { a.text += b.text }
    public static func join(_ parts: [HTML], _ separator: HTML = "") -> HTML {
        HTML(raw: parts.map(\.text).joined(separator: separator.text))
    }

    /// `& < > " '` as entities: safe in text and in double-quoted attribute values.
    public static func escape(_ s: some StringProtocol) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var text = ""
        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity * 2) }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        public mutating func appendInterpolation(_ s: String) { text += HTML.escape(s) }
        public mutating func appendInterpolation(_ s: Substring) { text += HTML.escape(s) }
        public mutating func appendInterpolation(_ s: String?) { text += s.map { HTML.escape($0) } ?? "" }
        public mutating func appendInterpolation(_ n: Int) { text += String(n) }
        public mutating func appendInterpolation(_ h: HTML) { text += h.text }
        public mutating func appendInterpolation(_ hs: [HTML]) { text += hs.map(\.text).joined() }
    }
}

/// A refusal a desk handler throws; `DeskEnv.handle` turns it into the page or status.
public enum DeskError: Error, Sendable, Equatable {
    /// No session: HTML pages redirect to the log-in, the API and changes answer 401.
    case unauthenticated
    /// The role is too low.
    case forbidden
    case notFound(String)
    case badRequest(String)
    case conflict(String)
    /// An upstream (Prometheus, Alertmanager) did not answer as it should.
    case upstream(String)
}

/// One desk request: who, in which language, and the helpers every page uses.
public struct DeskRequest: Sendable {
    public let env: DeskEnv
    public let session: DeskSession
    public let lang: DeskLang
    /// The request's path and query, e.g. `/desk/reports?status=pending`.
    public let uri: String
    /// The peer's address (for the audit log and the log-in limiter).
    public let address: String?
    public let query: [String: String]

    /// Picks the text for the session's language.
    public func t(_ zh: String, _ en: String) -> String { lang == .zh ? zh : en }

    /// Throws `forbidden` unless the session's role is at least `role`.
    public func require(_ role: DeskRole) throws(DeskError) {
        guard session.role >= role else { throw .forbidden }
    }

    /// The hidden CSRF field every desk form carries.
    public var csrfField: HTML { "<input type=\"hidden\" name=\"csrf\" value=\"\(session.csrf)\">" }

    /// Records an action in the audit log (who, from where, when).
    public func audit(_ action: String, target: String? = nil, detail: String? = nil) async throws {
        try await env.store.audit(
            staff: session.staff, address: address, action: action, target: target, detail: detail)
    }

    /// 303 to `location` (a `/desk/...` path).
    public func redirect(_ location: String) -> Response { DeskEnv.redirect(location) }

    /// A JSON answer (the charts' series).
    public func json<T: Encodable>(_ value: T) throws -> Response { try HubHTTP.json(value) }
}

/// A desk form's fields (application/x-www-form-urlencoded), read once.
public struct DeskForm: Sendable {
    public let fields: [String: [String]]

    /// The largest form body read (the CSRF check reads it first, the handler again).
    public static let maxBytes = 256 * 1024

    public static func read(_ request: Request, _ context: HubContext) async throws -> DeskForm {
        let buffer = try await request.body.collect(upTo: maxBytes)
        return DeskForm(urlencoded: String(buffer: buffer))
    }

    public init(urlencoded text: String) {
        var fields: [String: [String]] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let key = decode(parts[0])
            fields[key, default: []].append(parts.count > 1 ? decode(parts[1]) : "")
        }
        self.fields = fields
    }

    /// The field's first value, trimmed; nil when absent or empty.
    public subscript(_ key: String) -> String? {
        guard let v = fields[key]?.first?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else {
            return nil
        }
        return v
    }

    /// Every value of a repeated field (checkboxes), empty ones dropped.
    public func all(_ key: String) -> [String] { (fields[key] ?? []).filter { !$0.isEmpty } }

    /// A required field, or `badRequest` naming it.
    public func required(_ key: String, _ what: String) throws(DeskError) -> String {
        guard let v = self[key] else { throw .badRequest("\(what) is required") }
        return v
    }
}
