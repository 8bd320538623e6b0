/// The outbound process's methods of `io.waystation.Station` (role uplink; admin may call them):
/// `waystation-uplink` takes the webhook and Alertmanager notifications of the daemon's outbox and
/// delivers them over http or https; the daemon keeps the outbox, the order per target and the
/// retry bookkeeping.

/// One notification due for delivery, exactly as it is to be sent.
public struct PendingNotification: Codable, Sendable, Equatable {
    /// The outbox row; nil for an Alertmanager re-send of the firing alerts (best effort: nothing to
    /// acknowledge, the next re-send replaces it).
    public var id: Int?
    /// The `[[notify]]` target's name (its TLS files and timeout are in the config).
    public var target: String
    /// Where to POST (credentials of the configured URL moved into `Authorization`).
    public var url: String
    public var body: String
    /// Request headers: `Content-Type`, `Idempotency-Key` (the same for every attempt of one row),
    /// `Authorization` when the configured URL carries credentials.
    public var headers: [String: String]
    /// Attempts made before this one.
    public var attempt: Int

    public init(id: Int?, target: String, url: String, body: String, headers: [String: String], attempt: Int) {
        self.id = id
        self.target = target
        self.url = url
        self.body = body
        self.headers = headers
        self.attempt = attempt
    }
}

/// What is due for delivery, oldest first per target, at most `limit` per target; a target waiting
/// out its back-off, or whose earlier notifications are out with an uplink, gives none. With
/// `wait` (a duration, at most 10m), an empty answer waits until something is due or `wait` passed.
/// The rows given are the caller's until acknowledged or for the target's timeout plus 5 s.
public enum NotificationsPending: StationMethod {
    public static let name = "NotificationsPending"
    public struct Parameters: Codable, Sendable, Equatable {
        public var target: String?
        public var limit: Int?
        public var wait: String?
        public init(target: String? = nil, limit: Int? = nil, wait: String? = nil) {
            self.target = target
            self.limit = limit
            self.wait = wait
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var notifications: [PendingNotification]
        public init(notifications: [PendingNotification]) { self.notifications = notifications }
    }
}

/// The receiver accepted notification `id` (a 2xx): it is not sent again.
public enum NotificationDelivered: StationMethod {
    public static let name = "NotificationDelivered"
    public struct Parameters: Codable, Sendable, Equatable {
        public var id: Int
        public init(id: Int) { self.id = id }
    }
    public typealias Reply = Empty
}

/// An attempt at notification `id` failed: `error` says why, `status` is the HTTP status when the
/// receiver answered. The daemon counts the attempt and sets the target's back-off; a notification
/// refused for good (4xx other than 408 and 429) five times becomes a dead letter.
public enum NotificationFailed: StationMethod {
    public static let name = "NotificationFailed"
    public struct Parameters: Codable, Sendable, Equatable {
        public var id: Int
        public var error: String
        public var status: Int?
        public init(id: Int, error: String, status: Int? = nil) {
            self.id = id
            self.error = error
            self.status = status
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// Seconds before the target is due again.
        public var retryIn: Double
        /// True when this failure made it a dead letter (kept, no longer retried).
        public var deadLetter: Bool
        enum CodingKeys: String, CodingKey {
            case retryIn = "retry_in"
            case deadLetter = "dead_letter"
        }
        public init(retryIn: Double, deadLetter: Bool) {
            self.retryIn = retryIn
            self.deadLetter = deadLetter
        }
    }
}
