/// `GetMetrics`: every figure `waystation-web` renders at `/metrics` (see the `.varlink` file).

public struct MetricsDevice: Codable, Sendable, Equatable {
    public var id: String
    public var kind: String
    public var state: DeviceState
    public var maintenance: Bool
    /// Unix seconds of the last good read; absent when none since start.
    public var lastGood: Double?

    enum CodingKeys: String, CodingKey {
        case id, kind, state, maintenance
        case lastGood = "last_good"
    }

    public init(id: String, kind: String, state: DeviceState, maintenance: Bool, lastGood: Double?) {
        self.id = id
        self.kind = kind
        self.state = state
        self.maintenance = maintenance
        self.lastGood = lastGood
    }
}

/// A point's latest good value, with the profile's unit text ("°C", "kWh"; absent when none).
public struct MetricsPoint: Codable, Sendable, Equatable {
    public var device: String
    public var kind: String
    public var point: String
    public var unit: String?
    public var value: Double

    public init(device: String, kind: String, point: String, unit: String?, value: Double) {
        self.device = device
        self.kind = kind
        self.point = point
        self.unit = unit
        self.value = value
    }
}

public struct ResultCount: Codable, Sendable, Equatable {
    public var result: String
    public var count: Int
    public init(result: String, count: Int) {
        self.result = result
        self.count = count
    }
}

/// A bus's counters since the daemon started.
public struct MetricsBus: Codable, Sendable, Equatable {
    public var bus: String
    /// Requests by result: ok, timeout, crc, exception, connection, invalid.
    public var requests: [ResultCount]
    public var reconnects: Int
    /// Upper bounds (seconds) of the request-duration buckets, and their cumulative counts.
    public var bucketBounds: [Double]
    public var buckets: [Int]
    public var durationCount: Int
    public var durationSum: Double

    enum CodingKeys: String, CodingKey {
        case bus, requests, reconnects, buckets
        case bucketBounds = "bucket_bounds"
        case durationCount = "duration_count"
        case durationSum = "duration_sum"
    }

    public init(
        bus: String, requests: [ResultCount], reconnects: Int, bucketBounds: [Double], buckets: [Int],
        durationCount: Int, durationSum: Double
    ) {
        self.bus = bus
        self.requests = requests
        self.reconnects = reconnects
        self.bucketBounds = bucketBounds
        self.buckets = buckets
        self.durationCount = durationCount
        self.durationSum = durationSum
    }
}

public struct AlertCount: Codable, Sendable, Equatable {
    /// pending, firing
    public var state: String
    public var severity: String
    public var count: Int
    public init(state: String, severity: String, count: Int) {
        self.state = state
        self.severity = severity
        self.count = count
    }
}

public struct SlotInterlock: Codable, Sendable, Equatable {
    public var slot: String
    public var interlocked: Bool
    /// The interlock's kind while one holds the slot off (the metric's `reason`).
    public var kind: InterlockKind?
    public init(slot: String, interlocked: Bool, kind: InterlockKind? = nil) {
        self.slot = slot
        self.interlocked = interlocked
        self.kind = kind
    }
}

public struct OutboxCount: Codable, Sendable, Equatable {
    public var target: String
    public var pending: Int
    public init(target: String, pending: Int) {
        self.target = target
        self.pending = pending
    }
}

/// The station's figures. Counts only: nothing here identifies a rider.
public struct StationMetrics: Codable, Sendable, Equatable {
    public var version: String
    public var station: String
    public var district: String?
    public var devices: [MetricsDevice]
    public var points: [MetricsPoint]
    public var buses: [MetricsBus]
    public var alerts: [AlertCount]
    public var slots: [SlotInterlock]
    public var occupancy: Int
    public var capacity: Int
    /// Visits begun since the daemon started, by category (every configured category).
    public var checkIns: [CategoryCount]
    public var storageOk: Bool
    public var storageErrors: Int
    /// Bytes the daemon process has written to storage since it started (`/proc/self/io`).
    public var storageWrittenBytes: Int
    /// The database file and its WAL.
    public var databaseSizeBytes: Int
    public var outbox: [OutboxCount]
    /// `[station] name` and `address` (labels on `waystation_build_info`).
    public var stationName: String?
    public var address: String?
    /// Visits of the station's local calendar day so far.
    public var today: DayFigures?

    enum CodingKeys: String, CodingKey {
        case version, station, district, devices, points, buses, alerts, slots, occupancy, capacity, outbox, address
        case today
        case stationName = "station_name"
        case checkIns = "check_ins"
        case storageOk = "storage_ok"
        case storageErrors = "storage_errors"
        case storageWrittenBytes = "storage_written_bytes"
        case databaseSizeBytes = "database_size_bytes"
    }

    public init(
        version: String, station: String, district: String?, devices: [MetricsDevice], points: [MetricsPoint],
        buses: [MetricsBus], alerts: [AlertCount], slots: [SlotInterlock], occupancy: Int, capacity: Int,
        checkIns: [CategoryCount], storageOk: Bool, storageErrors: Int, storageWrittenBytes: Int,
        databaseSizeBytes: Int, outbox: [OutboxCount]
    ) {
        self.version = version
        self.station = station
        self.district = district
        self.devices = devices
        self.points = points
        self.buses = buses
        self.alerts = alerts
        self.slots = slots
        self.occupancy = occupancy
        self.capacity = capacity
        self.checkIns = checkIns
        self.storageOk = storageOk
        self.storageErrors = storageErrors
        self.storageWrittenBytes = storageWrittenBytes
        self.databaseSizeBytes = databaseSizeBytes
        self.outbox = outbox
    }
}
