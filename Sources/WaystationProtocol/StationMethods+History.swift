/// A point's history in steps of `step` seconds over [from, to): the stored values and 1-minute
/// aggregates and those still in memory (not yet flushed). `since` ("6h") is an alternative to
/// `from`; `to` defaults to now. Reader role.
public enum GetHistory: StationMethod {
    public static let name = "GetHistory"
    public struct Parameters: Codable, Sendable, Equatable {
        public var device: String
        public var point: String
        public var since: String?
        public var from: String?
        public var to: String?
        /// A duration ("1m", "10m"); default: about 60 steps.
        public var step: String?
        public init(
            device: String, point: String, since: String? = nil, from: String? = nil, to: String? = nil,
            step: String? = nil
        ) {
            self.device = device
            self.point = point
            self.since = since
            self.from = from
            self.to = to
            self.step = step
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var device: String
        public var point: String
        public var unit: String?
        /// ISO 8601 with the station's offset.
        public var from: String
        public var to: String
        /// Seconds.
        public var step: Int
        public var steps: [HistoryStep]
        public init(
            device: String, point: String, unit: String?, from: String, to: String, step: Int, steps: [HistoryStep]
        ) {
            self.device = device
            self.point = point
            self.unit = unit
            self.from = from
            self.to = to
            self.step = step
            self.steps = steps
        }
    }
}

/// One step of a point's history; min, avg and max are nil when nothing was read in it.
public struct HistoryStep: Codable, Sendable, Equatable {
    /// Start of the step, ISO 8601 with the station's offset.
    public var at: String
    public var min: Double?
    public var avg: Double?
    public var max: Double?
    /// Readings the step holds.
    public var count: Int
    public init(at: String, min: Double?, avg: Double?, max: Double?, count: Int) {
        self.at = at
        self.min = min
        self.avg = avg
        self.max = max
        self.count = count
    }
}

/// Device state changes and interlock, maintenance and slot actions, newest first. Reader role.
public enum ListEvents: StationMethod {
    public static let name = "ListEvents"
    public struct Parameters: Codable, Sendable, Equatable {
        public var device: String?
        public var since: String?
        public var limit: Int?
        public init(device: String? = nil, since: String? = nil, limit: Int? = nil) {
            self.device = device
            self.since = since
            self.limit = limit
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var events: [StationEvent]
        public init(events: [StationEvent]) { self.events = events }
    }
}

/// Something that happened to a device or a slot.
public struct StationEvent: Codable, Sendable, Equatable {
    /// ISO 8601 with the station's offset.
    public var at: String
    /// state, interlock, enable-slot, maintenance
    public var kind: String
    public var device: String?
    /// The slot, for interlock and enable-slot.
    public var slot: String?
    public var from: String?
    public var to: String?
    /// Why (a state change's cause).
    public var detail: String?
    public init(
        at: String, kind: String, device: String?, slot: String? = nil, from: String?, to: String?, detail: String?
    ) {
        self.at = at
        self.kind = kind
        self.device = device
        self.slot = slot
        self.from = from
        self.to = to
        self.detail = detail
    }
}
