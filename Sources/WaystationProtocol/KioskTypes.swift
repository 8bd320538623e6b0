/// The kiosk's and the hazard reports' types of `io.waystation.Station` (see the `.varlink` file).

/// The room: temperature, whether the AC runs, its set point (each absent when unknown).
public struct KioskRoom: Codable, Sendable, Equatable {
    public var temperature: Double?
    public var acRunning: Bool?
    public var setpoint: Double?

    enum CodingKeys: String, CodingKey {
        case temperature, setpoint
        case acRunning = "ac_running"
    }

    public init(temperature: Double? = nil, acRunning: Bool? = nil, setpoint: Double? = nil) {
        self.temperature = temperature
        self.acRunning = acRunning
        self.setpoint = setpoint
    }
}

/// The drinking water: cold enough (the fridge at or below its limit), and its temperature.
public struct KioskWater: Codable, Sendable, Equatable {
    public var cold: Bool?
    public var temperature: Double?

    public init(cold: Bool? = nil, temperature: Double? = nil) {
        self.cold = cold
        self.temperature = temperature
    }
}

public struct KioskMicrowave: Codable, Sendable, Equatable {
    /// free, in_use, unknown
    public var state: String
    public init(state: String) { self.state = state }
}

/// A charging slot as a rider sees it.
public struct KioskSlot: Codable, Sendable, Equatable {
    public var id: String
    /// free, charging, off, unknown
    public var state: String
    /// overheated, smoke, sensor_lost, no_battery, temperature_rising, storage_recovered (an
    /// interlock's kind), or maintenance (switched off by hand, no interlock); absent: none
    public var reason: String?
    /// The interlock's kind while one holds the slot off (absent otherwise).
    public var interlock: InterlockKind?

    public init(id: String, state: String, reason: String? = nil, interlock: InterlockKind? = nil) {
        self.id = id
        self.state = state
        self.reason = reason
        self.interlock = interlock
    }
}

/// A service on offer (`[[service]]`), and whether it is on today (station time).
public struct KioskService: Codable, Sendable, Equatable {
    public var name: String
    public var nameEn: String?
    public var days: [String]
    public var hours: String
    public var today: Bool

    enum CodingKeys: String, CodingKey {
        case name, days, hours, today
        case nameEn = "name_en"
    }

    public init(name: String, nameEn: String?, days: [String], hours: String, today: Bool) {
        self.name = name
        self.nameEn = nameEn
        self.days = days
        self.hours = hours
        self.today = today
    }
}

/// A hazard category riders may report (`[[hazard]]`) and the points a verified report earns.
public struct HazardCategory: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var nameEn: String?
    public var points: Int

    enum CodingKeys: String, CodingKey {
        case id, name, points
        case nameEn = "name_en"
    }

    public init(id: String, name: String, nameEn: String?, points: Int) {
        self.id = id
        self.name = name
        self.nameEn = nameEn
        self.points = points
    }
}

/// Everything the kiosk shows on arrival.
public struct KioskStatus: Codable, Sendable, Equatable {
    public var station: StationInfo
    public var occupancy: Int
    public var seatsFree: Int
    public var room: KioskRoom
    public var water: KioskWater
    public var microwave: KioskMicrowave
    public var slots: [KioskSlot]
    public var services: [KioskService]
    public var visitCategories: [String]
    public var hazardCategories: [HazardCategory]
    public var locationPresets: [String]
    /// ISO 8601.
    public var updatedAt: String
    /// A smoke input reads smoke right now: the kiosk shows its alarm, and check-in is paused.
    public var smoke: Bool
    /// `[kiosk] emergency_phone` and `staff_phone`, for the alarm.
    public var emergencyPhone: String?
    public var staffPhone: String?
    /// District notices valid now (an enrolled station).
    public var notices: [KioskNotice]?

    enum CodingKeys: String, CodingKey {
        case station, occupancy, room, water, microwave, slots, services, smoke, notices
        case seatsFree = "seats_free"
        case visitCategories = "visit_categories"
        case hazardCategories = "hazard_categories"
        case locationPresets = "location_presets"
        case updatedAt = "updated_at"
        case emergencyPhone = "emergency_phone"
        case staffPhone = "staff_phone"
    }

    public init(
        station: StationInfo, occupancy: Int, seatsFree: Int, room: KioskRoom, water: KioskWater,
        microwave: KioskMicrowave, slots: [KioskSlot], services: [KioskService], visitCategories: [String],
        hazardCategories: [HazardCategory], locationPresets: [String], updatedAt: String, smoke: Bool = false,
        emergencyPhone: String? = nil, staffPhone: String? = nil
    ) {
        self.smoke = smoke
        self.emergencyPhone = emergencyPhone
        self.staffPhone = staffPhone
        self.station = station
        self.occupancy = occupancy
        self.seatsFree = seatsFree
        self.room = room
        self.water = water
        self.microwave = microwave
        self.slots = slots
        self.services = services
        self.visitCategories = visitCategories
        self.hazardCategories = hazardCategories
        self.locationPresets = locationPresets
        self.updatedAt = updatedAt
    }
}

/// A hazard report. `reporter` (the rider's pseudonym) is given to admins only.
public struct HazardReport: Codable, Sendable, Equatable {
    public var id: Int
    public var category: String
    public var location: String
    public var note: String?
    /// ISO 8601.
    public var createdAt: String
    /// pending, verified, rejected
    public var status: String
    /// What it earns (pending) or earned (verified).
    public var points: Int
    public var reporter: String?
    public var judgedBy: String?
    public var judgedAt: String?
    public var judgeNote: String?
    /// The id of the report this one repeats (same rider, category and place within 24 h): it
    /// earns no points.
    public var duplicateOf: Int?

    enum CodingKeys: String, CodingKey {
        case id, category, location, note, status, points, reporter
        case createdAt = "created_at"
        case judgedBy = "judged_by"
        case judgedAt = "judged_at"
        case judgeNote = "judge_note"
        case duplicateOf = "duplicate_of"
    }

    public init(
        id: Int, category: String, location: String, note: String?, createdAt: String, status: String, points: Int,
        reporter: String? = nil, judgedBy: String? = nil, judgedAt: String? = nil, judgeNote: String? = nil,
        duplicateOf: Int? = nil
    ) {
        self.id = id
        self.category = category
        self.location = location
        self.note = note
        self.createdAt = createdAt
        self.status = status
        self.points = points
        self.reporter = reporter
        self.judgedBy = judgedBy
        self.judgedAt = judgedAt
        self.judgeNote = judgeNote
        self.duplicateOf = duplicateOf
    }
}

/// What an identified rider sees: points (verified reports) and recent reports.
public struct RiderSummary: Codable, Sendable, Equatable {
    public var points: Int
    public var reports: [HazardReport]
    /// The district balance, at an enrolled station once the rider is known to the hub.
    public var district: RiderDistrict?

    public init(points: Int, reports: [HazardReport], district: RiderDistrict? = nil) {
        self.points = points
        self.reports = reports
        self.district = district
    }
}
