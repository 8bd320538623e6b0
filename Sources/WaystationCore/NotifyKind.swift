/// Where a `[[notify]]` target sends alerts.
public enum NotifyKind: String, Sendable, CaseIterable, Hashable {
    /// POSTs to Alertmanager's API (`/api/v2/alerts`), re-sending firing alerts as it expects.
    case alertmanager
    /// POSTs Alertmanager's webhook payload (version 4).
    case webhook
    /// Runs a program (no shell) with the alert as JSON on stdin.
    case exec
}

/// URLs as messages and logs may show them: a password replaced by `***`.
public enum HTTPRedaction {
    public static func redact(_ url: String) -> String {
        guard let scheme = PlainText.firstRange(of: "://", in: url[...]) else { return url }
        let authority = url[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userInfo = url[scheme.upperBound..<at]
        let user = userInfo.split(separator: ":", maxSplits: 1).first ?? ""
        return url[..<scheme.upperBound] + user + ":***" + url[at...]
    }
}
