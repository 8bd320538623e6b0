import WaystationAlerts
import WaystationCore

extension StationService {
    /// `NotificationsPending`: what waystation-uplink is to deliver; with `wait`, a long poll that
    /// ends early when the caller goes away (or the daemon stops).
    func notificationsPending(_ call: VarlinkCall, peer: Peer, _ replies: ReplySink) async throws {
        let p = try decode(NotificationsPending.self, call)
        let limit = try Limits.count(p.limit, "limit", default: 16, max: 256)
        let wait = try Self.longPoll(p.wait)
        guard let desk = notifications else {
            replies.send(NotificationsPending.Reply(notifications: []))
            return
        }
        let items = try await withThrowingTaskGroup(of: [NotificationDesk.PendingItem]?.self) { group in
            group.addTask { try await desk.pending(target: p.target, limit: limit, wait: wait, pid: peer.pid) }
            group.addTask {
                await replies.untilClosed()
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let items else { return }
        replies.send(
            NotificationsPending.Reply(
                notifications: items.map {
                    PendingNotification(
                        id: $0.id.map { Int($0) }, target: $0.target, url: $0.url, body: $0.body, headers: $0.headers,
                        attempt: $0.attempt)
                }))
    }

    func notificationDelivered(_ p: NotificationDelivered.Parameters) async throws -> Empty {
        try await notifications?.delivered(Int64(p.id))
        return Empty()
    }

    func notificationFailed(_ p: NotificationFailed.Parameters) async throws -> NotificationFailed.Reply {
        // The uplink's words, for the log: one line, bounded.
        var scalars = String.UnicodeScalarView()
        for u in p.error.unicodeScalars.prefix(500) {
            scalars.append(u.properties.generalCategory == .control ? " " : u)
        }
        let error = String(scalars)
        guard let desk = notifications else { return NotificationFailed.Reply(retryIn: 0, deadLetter: false) }
        let (retry, dead) = try await desk.failed(Int64(p.id), error: error, status: p.status)
        return NotificationFailed.Reply(retryIn: Double(retry.milliseconds) / 1000, deadLetter: dead)
    }

    /// `wait`: a duration of at most 10 minutes (none: answer at once).
    static func longPoll(_ text: String?) throws(VarlinkError) -> Duration {
        guard let text else { return .zero }
        guard let d = DurationParser.parse(text), d <= .seconds(600) else {
            throw .invalidParameter("wait", reason: "a duration of at most 10m, e.g. 60s")
        }
        return d
    }
}
