/// The errors of `io.waystation.Station`, each with the parameters that say what was wrong.
public enum StationError: Error, Sendable, Equatable {
    case deviceNotFound(device: String)
    case pointNotFound(device: String, point: String)
    case pointNotWritable(device: String, point: String)
    case valueOutOfRange(device: String, point: String, value: Double, min: Double?, max: Double?)
    case deviceOffline(device: String, error: String)
    case permissionDenied(method: String, uid: Int, required: String)
    case configRefused(errors: String)
    case notCheckedIn
    case alertNotFound(fingerprint: String)
    case alertNotFiring(fingerprint: String, state: String)
    case slotNotFound(slot: String)
    case slotUnsafe(slot: String, reason: String)
    case unknownCategory(category: String, known: [String])
    case notReady
    case internalError(error: String)
    /// The kiosk session is unknown or has expired: the rider scans again.
    case sessionExpired
    /// Too many scans (of this rider, or of everyone in the last minute); try again in seconds.
    case rateLimited(retryAfter: Int)
    case invalidReport(field: String, reason: String)
    case reportNotFound(id: Int)
    case reportAlreadyJudged(id: Int, status: String)
    /// The disk holding the database (in `directory`) is full: nothing was recorded.
    case storageFull(directory: String)
    case checkInPaused(reason: String)
    /// The station has no `[district]`: the district link's methods have nothing to do.
    case districtNotEnrolled

    /// The unqualified error name, as in the `.varlink` file.
    public var name: String {
        switch self {
        case .deviceNotFound: "DeviceNotFound"
        case .pointNotFound: "PointNotFound"
        case .pointNotWritable: "PointNotWritable"
        case .valueOutOfRange: "ValueOutOfRange"
        case .deviceOffline: "DeviceOffline"
        case .permissionDenied: "PermissionDenied"
        case .configRefused: "ConfigRefused"
        case .notCheckedIn: "NotCheckedIn"
        case .alertNotFound: "AlertNotFound"
        case .alertNotFiring: "AlertNotFiring"
        case .slotNotFound: "SlotNotFound"
        case .slotUnsafe: "SlotUnsafe"
        case .unknownCategory: "UnknownCategory"
        case .notReady: "NotReady"
        case .internalError: "InternalError"
        case .sessionExpired: "SessionExpired"
        case .rateLimited: "RateLimited"
        case .invalidReport: "InvalidReport"
        case .reportNotFound: "ReportNotFound"
        case .reportAlreadyJudged: "ReportAlreadyJudged"
        case .storageFull: "StorageFull"
        case .checkInPaused: "CheckInPaused"
        case .districtNotEnrolled: "DistrictNotEnrolled"
        }
    }

    public var parameters: JSON {
        func opt(_ d: Double?) -> JSON { d.map(JSON.number) ?? .null }
        switch self {
        case .deviceNotFound(let d): return ["device": .string(d)]
        case .pointNotFound(let d, let p), .pointNotWritable(let d, let p):
            return ["device": .string(d), "point": .string(p)]
        case .valueOutOfRange(let d, let p, let v, let min, let max):
            return ["device": .string(d), "point": .string(p), "value": .number(v), "min": opt(min), "max": opt(max)]
        case .deviceOffline(let d, let e): return ["device": .string(d), "error": .string(e)]
        case .permissionDenied(let m, let uid, let required):
            return ["method": .string(m), "uid": .number(Double(uid)), "required": .string(required)]
        case .configRefused(let e): return ["errors": .string(e)]
        case .notCheckedIn: return [:]
        case .alertNotFound(let f): return ["fingerprint": .string(f)]
        case .alertNotFiring(let f, let s): return ["fingerprint": .string(f), "state": .string(s)]
        case .slotNotFound(let s): return ["slot": .string(s)]
        case .slotUnsafe(let s, let r): return ["slot": .string(s), "reason": .string(r)]
        case .unknownCategory(let c, let known):
            return ["category": .string(c), "known": .array(known.map(JSON.string))]
        case .notReady: return [:]
        case .internalError(let e): return ["error": .string(e)]
        case .sessionExpired: return [:]
        case .rateLimited(let s): return ["retry_after": .number(Double(s))]
        case .invalidReport(let f, let r): return ["field": .string(f), "reason": .string(r)]
        case .reportNotFound(let id): return ["id": .number(Double(id))]
        case .reportAlreadyJudged(let id, let s): return ["id": .number(Double(id)), "status": .string(s)]
        case .storageFull(let d): return ["directory": .string(d)]
        case .checkInPaused(let r): return ["reason": .string(r)]
        case .districtNotEnrolled: return [:]
        }
    }

    public var varlink: VarlinkError { VarlinkError(StationInterface.method(name), parameters) }

    /// The typed error for a varlink error of this interface; nil for other errors.
    public init?(_ error: VarlinkError) {
        let prefix = StationInterface.name + "."
        guard error.name.hasPrefix(prefix) else { return nil }
        let p = error.parameters
        func s(_ key: String) -> String { p[key]?.string ?? "" }
        switch String(error.name.dropFirst(prefix.count)) {
        case "DeviceNotFound": self = .deviceNotFound(device: s("device"))
        case "PointNotFound": self = .pointNotFound(device: s("device"), point: s("point"))
        case "PointNotWritable": self = .pointNotWritable(device: s("device"), point: s("point"))
        case "ValueOutOfRange":
            self = .valueOutOfRange(
                device: s("device"), point: s("point"), value: p["value"]?.number ?? .nan, min: p["min"]?.number,
                max: p["max"]?.number)
        case "DeviceOffline": self = .deviceOffline(device: s("device"), error: s("error"))
        case "PermissionDenied":
            self = .permissionDenied(method: s("method"), uid: Int(p["uid"]?.number ?? -1), required: s("required"))
        case "ConfigRefused": self = .configRefused(errors: s("errors"))
        case "NotCheckedIn": self = .notCheckedIn
        case "AlertNotFound": self = .alertNotFound(fingerprint: s("fingerprint"))
        case "AlertNotFiring": self = .alertNotFiring(fingerprint: s("fingerprint"), state: s("state"))
        case "SlotNotFound": self = .slotNotFound(slot: s("slot"))
        case "SlotUnsafe": self = .slotUnsafe(slot: s("slot"), reason: s("reason"))
        case "UnknownCategory":
            self = .unknownCategory(category: s("category"), known: (p["known"]?.array ?? []).compactMap(\.string))
        case "NotReady": self = .notReady
        case "InternalError": self = .internalError(error: s("error"))
        case "SessionExpired": self = .sessionExpired
        case "RateLimited": self = .rateLimited(retryAfter: Int(p["retry_after"]?.number ?? 1))
        case "InvalidReport": self = .invalidReport(field: s("field"), reason: s("reason"))
        case "ReportNotFound": self = .reportNotFound(id: Int(p["id"]?.number ?? -1))
        case "ReportAlreadyJudged": self = .reportAlreadyJudged(id: Int(p["id"]?.number ?? -1), status: s("status"))
        case "StorageFull": self = .storageFull(directory: s("directory"))
        case "CheckInPaused": self = .checkInPaused(reason: s("reason"))
        case "DistrictNotEnrolled": self = .districtNotEnrolled
        default: return nil
        }
    }
}
