#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import WaystationCore
import WaystationStorage

/// The daemon's side of http(s) delivery: it hands the webhook and Alertmanager rows of the outbox
/// to `waystation-uplink` (over the control socket) and keeps everything that makes delivery right:
/// the order per target (a target's rows go out one batch at a time, leased to one uplink), the
/// attempts and back-off, dead letters, the idempotency key, and Alertmanager's periodic re-sends.
/// The daemon itself opens no network connection for them.
public actor NotificationDesk: Reloadable {
    private let outbox: Outbox
    private let alerts: AlertService
    private let thread: ThreadExecutor
    private let logger: Logger
    private var config: StationConfig
    private var state: [String: TargetState] = [:]

    /// Per target: what the back-off, the lease and the dead-letter count stand at.
    struct TargetState {
        var failures = 0
        var notBefore: ContinuousClock.Instant?
        /// Rows handed out and not yet acknowledged, to whom, until when.
        var leased: Set<Int64> = []
        var leaseUntil: ContinuousClock.Instant = .now
        var leasePID: Int32 = 0
        /// Refusals for good of one row in a row.
        var refusals: (id: Int64, count: Int) = (0, 0)
        var nextResend: ContinuousClock.Instant?
    }

    /// Grace beyond a target's timeout before rows handed out are handed out again.
    static let leaseGrace: Duration = .seconds(5)

    public init(config: StationConfig, outbox: Outbox, alerts: AlertService, logger: Logger, station: ThreadExecutor) {
        self.config = config
        self.outbox = outbox
        self.alerts = alerts
        self.logger = logger
        thread = station
    }

    /// The targets delivered through the uplink.
    static func remote(_ config: StationConfig) -> [StationConfig.Notify] {
        config.notify.filter { $0.kind != .exec }
    }

    public func reload(_ new: StationConfig) {
        let old = Dictionary(Self.remote(config).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        config = new
        for t in Self.remote(new) where old[t.name] != t { state[t.name] = nil }
        let names = Set(Self.remote(new).map(\.name))
        state = state.filter { names.contains($0.key) }
        Outbox.handOffBell.ring()
    }

    /// What is due now; with `wait`, waits (until `closed` returns) for something to be due.
    public func pending(target: String?, limit: Int, wait: Duration, pid: Int32) async throws -> [PendingItem] {
        let deadline = ContinuousClock.now + wait
        while true {
            let (due, wake) = try await collect(target: target, limit: limit, pid: pid)
            let now = ContinuousClock.now
            if !due.isEmpty || now >= deadline || Task.isCancelled { return due }
            let until = min(deadline, wake ?? deadline)
            await Outbox.handOffBell.wait(timeout: max(until - now, .milliseconds(1)), timers: thread)
        }
    }

    /// One notification as the uplink is to send it.
    public struct PendingItem: Sendable, Equatable {
        public var id: Int64?
        public var target: String
        public var url: String
        public var body: String
        public var headers: [String: String]
        public var attempt: Int
    }

    /// The due rows (leased to `pid`), and when the next target comes due by itself.
    private func collect(target: String?, limit: Int, pid: Int32) async throws
        -> ([PendingItem], ContinuousClock.Instant?)
    {
        var due: [PendingItem] = []
        var wake: ContinuousClock.Instant?
        func soon(_ t: ContinuousClock.Instant) { wake = min(wake ?? t, t) }
        for t in Self.remote(config) where target == nil || target == t.name {
            // The state is read and written with no suspension in between (the actor lets other
            // calls in at every await): a failure or another poll meanwhile is never overwritten.
            guard let rows = try await dueRows(t, limit: limit, soon: soon) else { continue }
            let resend = (state[t.name]?.nextResend).map { $0 <= .now } ?? false
            let resendBody = resend ? await resendBody() : nil
            let now = ContinuousClock.now
            var s = state[t.name] ?? TargetState()
            if let notBefore = s.notBefore, notBefore > now {
                soon(notBefore)
                continue
            }
            guard s.leased.isEmpty else {
                soon(s.leaseUntil)
                continue
            }
            for row in rows {
                guard let id = row.id else { continue }
                // Delivered at least once: a crash after the receiver's answer and before the mark
                // sends it again, with the same key (the row's id and creation time, which a
                // database set aside and started afresh does not repeat).
                let key = "\(config.station.id)-\(id)-\(row.created)"
                due.append(try Self.request(t, id: id, body: row.payload, key: key, attempt: row.attempts))
                s.leased.insert(id)
            }
            if !s.leased.isEmpty {
                s.leaseUntil = now + t.timeout + Self.leaseGrace
                s.leasePID = pid
            }
            if let next = s.nextResend, next <= now {
                s.nextResend = now + t.resendInterval
                if s.failures == 0, let resendBody {
                    due.append(try Self.request(t, id: nil, body: resendBody, key: nil, attempt: 0))
                }
            }
            if let next = s.nextResend { soon(next) }
            state[t.name] = s
        }
        return (due, wake)
    }

    /// The target's oldest rows when it may be handed out now (no back-off, no lease), else nil
    /// (with `soon` told when it comes due by itself).
    private func dueRows(
        _ t: StationConfig.Notify, limit: Int, soon: (ContinuousClock.Instant) -> Void
    ) async throws -> [Outbox.Item]? {
        var s = state[t.name] ?? TargetState()
        let now = ContinuousClock.now
        if !s.leased.isEmpty, now >= s.leaseUntil || !Self.alive(s.leasePID) { s.leased = [] }
        if t.kind == .alertmanager, s.nextResend == nil { s.nextResend = now + t.resendInterval }
        state[t.name] = s
        if let notBefore = s.notBefore, notBefore > now {
            soon(notBefore)
            return nil
        }
        if !s.leased.isEmpty {
            soon(s.leaseUntil)
            return nil
        }
        return try await outbox.next(target: t.name, limit: limit)
    }

    /// Alertmanager's re-send: the firing alerts (and those resolved within 15 min), unsilenced.
    private func resendBody() async -> String? {
        let now = Date()
        let current = await alerts.list(state: nil).filter { a, silenced in
            !silenced
                && (a.state == .firing || (a.state == .resolved && now.timeIntervalSince(a.resolvedAt ?? now) < 900))
        }.map(\.0)
        return current.isEmpty ? nil : Payloads.resend(current, station: config.station)
    }

    /// The receiver took it.
    public func delivered(_ id: Int64) async throws {
        try await outbox.markDelivered(id, at: Date())
        guard let name = try await outbox.item(id)?.target, var s = state[name] else { return }
        s.leased.remove(id)
        if let t = Self.remote(config).first(where: { $0.name == name }) {
            s.leaseUntil = .now + t.timeout + Self.leaseGrace
        }
        if s.failures > 0 {
            logger.notice("notification target reachable again", metadata: ["target": "\(name)"])
        }
        s.failures = 0
        s.notBefore = nil
        state[name] = s
        Outbox.handOffBell.ring()
    }

    /// Refusals for good after which a notification becomes a dead letter.
    static let permanentFailuresBeforeDeadLetter = 5

    /// An attempt failed; returns the back-off before the target is due again and whether the row
    /// became a dead letter.
    public func failed(_ id: Int64, error: String, status: Int?) async throws -> (retryIn: Duration, deadLetter: Bool) {
        guard let item = try await outbox.item(id), item.delivered == nil, item.failed == nil else {
            return (.zero, false)
        }
        try? await outbox.markAttempt(id)
        let name = item.target
        defer { Outbox.handOffBell.ring() }
        // The state is read and written with no suspension in between (see `collect`).
        var s = state[name] ?? TargetState()
        s.leased = []
        s.failures += 1
        // Redirects are not followed (a notification goes where it was configured to); a 4xx but
        // 408 and 429 is the receiver refusing this notification itself.
        if let status, (400..<500).contains(status), status != 408, status != 429 {
            s.refusals = s.refusals.id == id ? (id, s.refusals.count + 1) : (id, 1)
            if s.refusals.count >= Self.permanentFailuresBeforeDeadLetter {
                // Held back (leased to nobody) until it is marked, then the next ones go on.
                s.leased = [id]
                s.leaseUntil = .now + .seconds(60)
                s.leasePID = 0
                state[name] = s
                try await outbox.markFailed(id, at: Date())
                logger.error(
                    "notification refused for good; kept as a dead letter, the next ones go on",
                    metadata: ["target": "\(name)", "outbox_id": "\(id)", "error": "\(error)"])
                var after = state[name] ?? TargetState()
                after.leased.remove(id)
                after.failures = 0
                after.notBefore = nil
                state[name] = after
                return (.zero, true)
            }
        }
        if s.failures == 1 || s.failures % 20 == 0 {
            logger.warning(
                "notification delivery failed; will retry", metadata: ["target": "\(name)", "error": "\(error)"])
        }
        let delay = Duration.milliseconds(Int64(min(pow(2, Double(min(s.failures, 10))) * 0.25, 30) * 1000))
        s.notBefore = .now + delay
        state[name] = s
        return (delay, false)
    }

    /// Whether the process that took a lease is still there (a killed uplink's rows go out again
    /// at once, not after the lease).
    static func alive(_ pid: Int32) -> Bool {
        pid <= 0 || kill(pid, 0) == 0 || errno == EPERM
    }

    /// The request for one notification: Alertmanager's path added, credentials of the URL moved
    /// into `Authorization`, the idempotency key as a header.
    static func request(_ t: StationConfig.Notify, id: Int64?, body: String, key: String?, attempt: Int) throws
        -> PendingItem
    {
        let text = t.url ?? ""
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw HTTPFailure("target \(t.name): not a URL: \(HTTPRedaction.redact(text))", permanent: true) }
        var path = url.path.isEmpty ? "/" : url.path
        if t.kind == .alertmanager, !path.hasSuffix("/api/v2/alerts") {
            path = (path.hasSuffix("/") ? String(path.dropLast()) : path) + "/api/v2/alerts"
        }
        if let query = url.query { path += "?" + query }
        let hostText = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        var headers = ["Content-Type": "application/json"]
        if let key { headers["Idempotency-Key"] = key }
        if let user = url.user {
            let credentials = "\(user):\(url.password ?? "")"
            headers["Authorization"] = "Basic " + Data(credentials.utf8).base64EncodedString()
        }
        return PendingItem(
            id: id, target: t.name, url: "\(scheme)://\(hostText)\(url.port.map { ":\($0)" } ?? "")\(path)",
            body: body, headers: headers, attempt: attempt)
    }
}

/// Why a delivery failed. `permanent`: the receiver refused this notification itself; retrying
/// the same body will not help.
public struct HTTPFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public var permanent = false
    init(_ d: String, permanent: Bool = false) {
        description = d
        self.permanent = permanent
    }
}
