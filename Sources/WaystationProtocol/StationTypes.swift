/// The types of `io.waystation.Station`, as the `.varlink` file beside this one defines them. Field
/// names on the wire are snake_case; optional fields may be absent or null.

/// A device's health.
public enum DeviceState: String, Codable, Sendable, CaseIterable, Hashable {
    /// Not polled yet since start.
    case unknown
    case online
    /// Some reads fail, or a cycle failed but not yet long enough for offline.
    case degraded
    case offline
}

/// How urgent an alert is.
public enum Severity: String, Codable, Sendable, CaseIterable, Hashable, Comparable {
    case info, warning, critical

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// Where an alert is in its lifecycle.
public enum AlertState: String, Codable, Sendable, CaseIterable, Hashable {
    case inactive, pending, firing, resolved
}

public struct StationInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var capacity: Int

    public init(id: String, name: String, capacity: Int) {
        self.id = id
        self.name = name
        self.capacity = capacity
    }
}

public struct DeviceSummary: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var profile: String
    public var bus: String
    public var unit: Int
    public var state: DeviceState
    public var maintenance: Bool
    public var maintenanceReason: String?
    /// ISO 8601.
    public var lastGood: String?
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, profile, bus, unit, state, maintenance
        case maintenanceReason = "maintenance_reason"
        case lastGood = "last_good"
        case lastError = "last_error"
    }

    public init(
        id: String, kind: String, profile: String, bus: String, unit: Int, state: DeviceState, maintenance: Bool,
        maintenanceReason: String?, lastGood: String?, lastError: String?
    ) {
        self.id = id
        self.kind = kind
        self.profile = profile
        self.bus = bus
        self.unit = unit
        self.state = state
        self.maintenance = maintenance
        self.maintenanceReason = maintenanceReason
        self.lastGood = lastGood
        self.lastError = lastError
    }
}

public struct PointReading: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double?
    /// For coded values and switches: the value's label.
    public var label: String?
    public var unit: String?
    /// good, stale, bad, none
    public var quality: String
    public var error: String?
    /// Seconds since the last good read.
    public var age: Double?
    public var writable: Bool
    public var min: Double?
    public var max: Double?

    public init(
        name: String, value: Double?, label: String?, unit: String?, quality: String, error: String?, age: Double?,
        writable: Bool, min: Double?, max: Double?
    ) {
        self.name = name
        self.value = value
        self.label = label
        self.unit = unit
        self.quality = quality
        self.error = error
        self.age = age
        self.writable = writable
        self.min = min
        self.max = max
    }
}

public struct DeviceDetail: Codable, Sendable, Equatable {
    public var device: DeviceSummary
    public var points: [PointReading]

    public init(device: DeviceSummary, points: [PointReading]) {
        self.device = device
        self.points = points
    }
}

public struct DeviceCheck: Codable, Sendable, Equatable {
    public var id: String
    public var ok: Bool
    public var error: String?
    public var latencyMs: Double

    enum CodingKeys: String, CodingKey {
        case id, ok, error
        case latencyMs = "latency_ms"
    }

    public init(id: String, ok: Bool, error: String?, latencyMs: Double) {
        self.id = id
        self.ok = ok
        self.error = error
        self.latencyMs = latencyMs
    }
}

public struct AuditEntry: Codable, Sendable, Equatable {
    public var at: String
    public var uid: Int
    public var user: String
    public var action: String
    public var target: String
    public var old: String?
    public var new: String?

    public init(at: String, uid: Int, user: String, action: String, target: String, old: String?, new: String?) {
        self.at = at
        self.uid = uid
        self.user = user
        self.action = action
        self.target = target
        self.old = old
        self.new = new
    }
}

public struct Visit: Codable, Sendable, Equatable {
    public var id: Int
    /// The rider's pseudonym (HMAC-SHA256 with the station's secret), never the raw id.
    public var worker: String
    public var category: String
    public var source: String?
    public var checkedIn: String
    public var checkedOut: String?
    /// rider, auto
    public var closedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, worker, category, source
        case checkedIn = "checked_in"
        case checkedOut = "checked_out"
        case closedBy = "closed_by"
    }

    public init(
        id: Int, worker: String, category: String, source: String?, checkedIn: String, checkedOut: String?,
        closedBy: String?
    ) {
        self.id = id
        self.worker = worker
        self.category = category
        self.source = source
        self.checkedIn = checkedIn
        self.checkedOut = checkedOut
        self.closedBy = closedBy
    }
}

public struct CategoryCount: Codable, Sendable, Equatable {
    public var category: String
    public var count: Int

    public init(category: String, count: Int) {
        self.category = category
        self.count = count
    }
}

public struct VisitStats: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var visits: Int
    public var byCategory: [CategoryCount]
    /// Visits that started in each hour of the day, 0–23, station time.
    public var byHour: [Int]
    public var uniqueRiders: Int
    /// Seconds, over closed visits.
    public var meanStay: Double?
    public var medianStay: Double?
    public var peakOccupancy: Int
    public var peakAt: String?

    enum CodingKeys: String, CodingKey {
        case from, to, visits
        case byCategory = "by_category"
        case byHour = "by_hour"
        case uniqueRiders = "unique_riders"
        case meanStay = "mean_stay"
        case medianStay = "median_stay"
        case peakOccupancy = "peak_occupancy"
        case peakAt = "peak_at"
    }

    public init(
        from: String, to: String, visits: Int, byCategory: [CategoryCount], byHour: [Int], uniqueRiders: Int,
        meanStay: Double?, medianStay: Double?, peakOccupancy: Int, peakAt: String?
    ) {
        self.from = from
        self.to = to
        self.visits = visits
        self.byCategory = byCategory
        self.byHour = byHour
        self.uniqueRiders = uniqueRiders
        self.meanStay = meanStay
        self.medianStay = medianStay
        self.peakOccupancy = peakOccupancy
        self.peakAt = peakAt
    }
}

public struct Alert: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var name: String
    public var device: String
    public var state: AlertState
    public var severity: Severity
    public var summary: String
    public var labels: [String: String]
    public var value: Double?
    public var since: String?
    public var resolvedAt: String?
    public var acknowledgedBy: String?
    public var ackNote: String?
    public var silenced: Bool
    /// An interlock could not confirm the relay off.
    public var escalated: Bool

    enum CodingKeys: String, CodingKey {
        case fingerprint, name, device, state, severity, summary, labels, value, since, silenced, escalated
        case resolvedAt = "resolved_at"
        case acknowledgedBy = "acknowledged_by"
        case ackNote = "ack_note"
    }

    public init(
        fingerprint: String, name: String, device: String, state: AlertState, severity: Severity, summary: String,
        labels: [String: String], value: Double?, since: String?, resolvedAt: String?, acknowledgedBy: String?,
        ackNote: String?, silenced: Bool, escalated: Bool
    ) {
        self.fingerprint = fingerprint
        self.name = name
        self.device = device
        self.state = state
        self.severity = severity
        self.summary = summary
        self.labels = labels
        self.value = value
        self.since = since
        self.resolvedAt = resolvedAt
        self.acknowledgedBy = acknowledgedBy
        self.ackNote = ackNote
        self.silenced = silenced
        self.escalated = escalated
    }
}

public struct LatchedSlot: Codable, Sendable, Equatable {
    public var slot: String
    public var reason: String
    /// Why, as a value (absent from a daemon older than the kind).
    public var kind: InterlockKind?

    public init(slot: String, reason: String, kind: InterlockKind? = nil) {
        self.slot = slot
        self.reason = reason
        self.kind = kind
    }
}

/// Why an interlock holds a charging slot off: stored with the latch, and sent as this value to the
/// kiosk, the metrics and `waystationctl` (never read back from the reason's words).
public enum InterlockKind: String, Codable, Sendable, CaseIterable {
    case overheated, noBattery = "no_battery", smoke, sensorLost = "sensor_lost"
    case temperatureRising = "temperature_rising"
    /// Held off after the database was found damaged at start and begun afresh.
    case storageRecovered = "storage_recovered"
}

/// What `Watch` streams.
public struct Event: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case snapshot, deviceState = "device_state", maintenance, reload
        case checkIn = "check_in", checkOut = "check_out", visitClosed = "visit_closed"
        case alert, interlock
    }

    public var kind: Kind
    public var at: String
    public var device: String?
    public var from: String?
    public var to: String?
    public var cause: String?
    public var devices: [DeviceSummary]?
    public var visit: Visit?
    public var occupancy: Int?

    public init(
        kind: Kind, at: String, device: String? = nil, from: String? = nil, to: String? = nil, cause: String? = nil,
        devices: [DeviceSummary]? = nil, visit: Visit? = nil, occupancy: Int? = nil
    ) {
        self.kind = kind
        self.at = at
        self.device = device
        self.from = from
        self.to = to
        self.cause = cause
        self.devices = devices
        self.visit = visit
        self.occupancy = occupancy
    }
}
