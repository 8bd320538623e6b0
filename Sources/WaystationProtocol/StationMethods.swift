/// A method of `io.waystation.Station`: its name, parameters and reply (see the `.varlink` file).
public protocol StationMethod: Sendable {
    associatedtype Parameters: Codable & Sendable
    associatedtype Reply: Codable & Sendable
    /// The member name, e.g. `GetStatus`.
    static var name: String { get }
}

extension StationMethod {
    public static var qualifiedName: String { StationInterface.method(name) }
}

/// `()`: no parameters, or an empty reply.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}

/// The station at a glance.
public enum GetStatus: StationMethod {
    public static let name = "GetStatus"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var station: StationInfo
        public var version: String
        public var uptime: Double
        public var devices: [DeviceSummary]
        public var activeAlerts: Int
        public var occupancy: Int
        public var storageOk: Bool?
        public var storageError: String?

        enum CodingKeys: String, CodingKey {
            case station, version, uptime, devices, occupancy
            case activeAlerts = "active_alerts"
            case storageOk = "storage_ok"
            case storageError = "storage_error"
        }

        public init(
            station: StationInfo, version: String, uptime: Double, devices: [DeviceSummary], activeAlerts: Int,
            occupancy: Int, storageOk: Bool? = nil, storageError: String? = nil
        ) {
            self.storageOk = storageOk
            self.storageError = storageError
            self.station = station
            self.version = version
            self.uptime = uptime
            self.devices = devices
            self.activeAlerts = activeAlerts
            self.occupancy = occupancy
        }
    }
}

public enum ListDevices: StationMethod {
    public static let name = "ListDevices"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var devices: [DeviceSummary]
        public init(devices: [DeviceSummary]) { self.devices = devices }
    }
}

public enum GetDevice: StationMethod {
    public static let name = "GetDevice"
    public struct Parameters: Codable, Sendable, Equatable {
        public var id: String
        public init(id: String) { self.id = id }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var device: DeviceDetail
        public init(device: DeviceDetail) { self.device = device }
    }
}

/// A point's reply: `ReadPoint` and `WritePoint`.
public struct PointReply: Codable, Sendable, Equatable {
    public var point: PointReading
    public init(point: PointReading) { self.point = point }
}

public enum ReadPoint: StationMethod {
    public static let name = "ReadPoint"
    public struct Parameters: Codable, Sendable, Equatable {
        public var device: String
        public var point: String
        public init(device: String, point: String) {
            self.device = device
            self.point = point
        }
    }
    public typealias Reply = PointReply
}

public enum WritePoint: StationMethod {
    public static let name = "WritePoint"
    public struct Parameters: Codable, Sendable, Equatable {
        public var device: String
        public var point: String
        /// The value in the point's unit; true/false are taken as 1/0.
        public var value: Double

        public init(device: String, point: String, value: Double) {
            self.device = device
            self.point = point
            self.value = value
        }

        enum CodingKeys: String, CodingKey { case device, point, value }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            device = try c.decode(String.self, forKey: .device)
            point = try c.decode(String.self, forKey: .point)
            if let b = try? c.decode(Bool.self, forKey: .value) {
                value = b ? 1 : 0
            } else {
                value = try c.decode(Double.self, forKey: .value)
            }
        }
    }
    public typealias Reply = PointReply
}

public enum SelfTest: StationMethod {
    public static let name = "SelfTest"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var ok: Bool
        public var devices: [DeviceCheck]
        public var storageOk: Bool
        public var storageError: String?
        public var clockOk: Bool
        public var clock: String
        /// Why retention does not trust the clock (unsynchronised, implausible, jumped).
        public var clockError: String?

        enum CodingKeys: String, CodingKey {
            case ok, devices, clock
            case storageOk = "storage_ok"
            case storageError = "storage_error"
            case clockOk = "clock_ok"
            case clockError = "clock_error"
        }

        public init(
            ok: Bool, devices: [DeviceCheck], storageOk: Bool, storageError: String?, clockOk: Bool, clock: String,
            clockError: String? = nil
        ) {
            self.ok = ok
            self.devices = devices
            self.storageOk = storageOk
            self.storageError = storageError
            self.clockOk = clockOk
            self.clock = clock
            self.clockError = clockError
        }
    }
}

public enum SetMaintenance: StationMethod {
    public static let name = "SetMaintenance"
    public struct Parameters: Codable, Sendable, Equatable {
        public var device: String
        public var enabled: Bool
        public var reason: String?
        public init(device: String, enabled: Bool, reason: String?) {
            self.device = device
            self.enabled = enabled
            self.reason = reason
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var device: DeviceSummary
        public init(device: DeviceSummary) { self.device = device }
    }
}

public enum Reload: StationMethod {
    public static let name = "Reload"
    public typealias Parameters = Empty
    public typealias Reply = Empty
}

public enum Watch: StationMethod {
    public static let name = "Watch"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var event: Event
        public init(event: Event) { self.event = event }
    }
}

public enum CheckIn: StationMethod {
    public static let name = "CheckIn"
    public struct Parameters: Codable, Sendable, Equatable {
        public var worker: String
        public var category: String
        public var source: String?
        public init(worker: String, category: String, source: String?) {
            self.worker = worker
            self.category = category
            self.source = source
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var visit: Visit
        public var alreadyInside: Bool
        public var occupancy: Int
        public var capacity: Int
        public var full: Bool

        enum CodingKeys: String, CodingKey {
            case visit, occupancy, capacity, full
            case alreadyInside = "already_inside"
        }

        public init(visit: Visit, alreadyInside: Bool, occupancy: Int, capacity: Int, full: Bool) {
            self.visit = visit
            self.alreadyInside = alreadyInside
            self.occupancy = occupancy
            self.capacity = capacity
            self.full = full
        }
    }
}

public enum CheckOut: StationMethod {
    public static let name = "CheckOut"
    public struct Parameters: Codable, Sendable, Equatable {
        public var worker: String
        public init(worker: String) { self.worker = worker }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var visit: Visit
        public var occupancy: Int
        public init(visit: Visit, occupancy: Int) {
            self.visit = visit
            self.occupancy = occupancy
        }
    }
}

public enum ListVisits: StationMethod {
    public static let name = "ListVisits"
    public struct Parameters: Codable, Sendable, Equatable {
        public var since: String?
        public var until: String?
        public var active: Bool?
        public var limit: Int?
        public var cursor: String?
        public init(
            since: String? = nil, until: String? = nil, active: Bool? = nil, limit: Int? = nil, cursor: String? = nil
        ) {
            self.since = since
            self.until = until
            self.active = active
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var visits: [Visit]
        /// More visits follow: pass this as `cursor`.
        public var next: String?
        public init(visits: [Visit], next: String? = nil) {
            self.visits = visits
            self.next = next
        }
    }
}

public enum GetVisitStats: StationMethod {
    public static let name = "VisitStats"
    public struct Parameters: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        public init(from: String, to: String) {
            self.from = from
            self.to = to
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var stats: VisitStats
        public init(stats: VisitStats) { self.stats = stats }
    }
}

public enum ListAlerts: StationMethod {
    public static let name = "ListAlerts"
    public struct Parameters: Codable, Sendable, Equatable {
        public var state: AlertState?
        public var limit: Int?
        public var cursor: String?
        public init(state: AlertState? = nil, limit: Int? = nil, cursor: String? = nil) {
            self.state = state
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var alerts: [Alert]
        public var latchedSlots: [LatchedSlot]
        public var next: String?

        enum CodingKeys: String, CodingKey {
            case alerts, next
            case latchedSlots = "latched_slots"
        }

        public init(alerts: [Alert], latchedSlots: [LatchedSlot], next: String? = nil) {
            self.alerts = alerts
            self.latchedSlots = latchedSlots
            self.next = next
        }
    }
}

public enum AcknowledgeAlert: StationMethod {
    public static let name = "AcknowledgeAlert"
    public struct Parameters: Codable, Sendable, Equatable {
        public var fingerprint: String
        public var note: String?
        public init(fingerprint: String, note: String?) {
            self.fingerprint = fingerprint
            self.note = note
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var alert: Alert
        public init(alert: Alert) { self.alert = alert }
    }
}

public enum Silence: StationMethod {
    public static let name = "Silence"
    public struct Parameters: Codable, Sendable, Equatable {
        public var matchers: [String: String]
        /// With a unit, e.g. "2h".
        public var duration: String
        public var comment: String?
        public init(matchers: [String: String], duration: String, comment: String?) {
            self.matchers = matchers
            self.duration = duration
            self.comment = comment
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var id: Int
        public var until: String
        public init(id: Int, until: String) {
            self.id = id
            self.until = until
        }
    }
}

public enum EnableSlot: StationMethod {
    public static let name = "EnableSlot"
    public struct Parameters: Codable, Sendable, Equatable {
        public var slot: String
        public var device: String?
        public init(slot: String, device: String? = nil) {
            self.slot = slot
            self.device = device
        }
    }
    public typealias Reply = Empty
}

public enum ListAudit: StationMethod {
    public static let name = "ListAudit"
    public struct Parameters: Codable, Sendable, Equatable {
        public var limit: Int?
        public var cursor: String?
        public init(limit: Int? = nil, cursor: String? = nil) {
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var entries: [AuditEntry]
        public var next: String?
        public init(entries: [AuditEntry], next: String? = nil) {
            self.entries = entries
            self.next = next
        }
    }
}
