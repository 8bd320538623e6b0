/// The wire types of district link v1: what crosses between a station's uplink and the district hub
/// (`/sync/v1/stations/{station}/...`, JSON). Times are RFC 3339 text, days `YYYY-MM-DD` in the
/// district's time zone, riders only ever as district pseudonyms (never a raw id).
public enum LinkPath {
    /// The prefix of every station route.
    public static let prefix = "/sync/v1/stations"

    /// `/sync/v1/stations/{station}/{endpoint}`.
    public static func station(_ station: String, _ endpoint: String) -> String {
        "\(prefix)/\(station)/\(endpoint)"
    }
}

/// One rider id sealed to the hub (HPKE), under the station's own pseudonym for it.
public struct SealedRider: Codable, Sendable, Hashable {
    /// The station pseudonym of the rider: how the answer is matched up.
    public var ref: String
    /// The HPKE encapsulated key, base64.
    public var enc: String
    /// The ciphertext of the normalised id, base64.
    public var ct: String

    public init(ref: String, enc: String, ct: String) {
        self.ref = ref
        self.enc = enc
        self.ct = ct
    }
}

/// `POST .../riders/lookup`.
public struct LookupRequest: Codable, Sendable, Hashable {
    public var sealed: [SealedRider]
    public init(sealed: [SealedRider]) { self.sealed = sealed }
}

/// Station pseudonym -> district pseudonym.
public struct RiderMapping: Codable, Sendable, Hashable {
    public var ref: String
    /// The district pseudonym (32 hex digits).
    public var district: String
    public init(ref: String, district: String) {
        self.ref = ref
        self.district = district
    }
}

/// A sealed id the hub could not open or did not accept; the station drops it (it never opens later).
public struct Refusal: Codable, Sendable, Hashable {
    public var ref: String
    public var reason: String
    public init(ref: String, reason: String) {
        self.ref = ref
        self.reason = reason
    }
}

public struct LookupResponse: Codable, Sendable, Hashable {
    public var riders: [RiderMapping]
    public var refused: [Refusal]
    public init(riders: [RiderMapping], refused: [Refusal]) {
        self.riders = riders
        self.refused = refused
    }
}

/// A hazard report as the station sends it up.
public struct DistrictReport: Codable, Sendable, Hashable {
    /// The station's report id: (station, id) is the idempotency key on the hub.
    public var id: Int
    /// The station outbox's idempotency key (kept for tracing).
    public var key: String
    public var category: String
    public var location: String
    public var note: String?
    /// The district pseudonym of the reporting rider, nil when unknown (no points then).
    public var rider: String?
    /// When the rider made the report (RFC 3339).
    public var created: String

    public init(
        id: Int, key: String, category: String, location: String, note: String?, rider: String?, created: String
    ) {
        self.id = id
        self.key = key
        self.category = category
        self.location = location
        self.note = note
        self.rider = rider
        self.created = created
    }
}

/// `POST .../reports`.
public struct ReportsRequest: Codable, Sendable, Hashable {
    public var reports: [DistrictReport]
    public init(reports: [DistrictReport]) { self.reports = reports }
}

/// Every report id in the request is accepted (stored now or before); `flagged` are the ones whose
/// category the district does not know (stored for staff to look at, verifying them earns 0 points).
public struct ReportsResponse: Codable, Sendable, Hashable {
    public var accepted: [Int]
    public var flagged: [Int]
    public init(accepted: [Int], flagged: [Int] = []) {
        self.accepted = accepted
        self.flagged = flagged
    }
}

/// One local day's visit count for one category: an absolute value (a repeat overwrites).
public struct DayVisits: Codable, Sendable, Hashable {
    /// `YYYY-MM-DD`, the station's local calendar day.
    public var day: String
    public var category: String
    public var visits: Int
    public init(day: String, category: String, visits: Int) {
        self.day = day
        self.category = category
        self.visits = visits
    }
}

/// `POST .../visits`.
public struct VisitsRequest: Codable, Sendable, Hashable {
    public var days: [DayVisits]
    public init(days: [DayVisits]) { self.days = days }
}

/// `POST .../state`: what the station runs (its last-seen record on the hub).
public struct StationState: Codable, Sendable, Hashable {
    public var software: String
    /// A hash of the station's config.
    public var config: String
    public var reported: String
    public init(software: String, config: String, reported: String) {
        self.software = software
        self.config = config
        self.reported = reported
    }
}

/// An empty JSON object, `{}`.
public struct Empty: Codable, Sendable, Hashable {
    public init() {}
}
