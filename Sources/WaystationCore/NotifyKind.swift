/// Where a `[[notify]]` target sends alerts.
public enum NotifyKind: String, Sendable, CaseIterable, Hashable {
    /// POSTs to Alertmanager's API (`/api/v2/alerts`), re-sending firing alerts as it expects.
    case alertmanager
    /// POSTs Alertmanager's webhook payload (version 4).
    case webhook
    /// Runs a program (no shell) with the alert as JSON on stdin.
    case exec
}
