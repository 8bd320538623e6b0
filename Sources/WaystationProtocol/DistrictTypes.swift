/// The district link's types of `io.waystation.Station` (see the `.varlink` file). Their JSON keeps
/// close to the hub's HTTP bodies (`/sync/v1/stations/{station}/...`), so the uplink maps one to the
/// other field by field.

/// A rider's id sealed to the hub's rider key (HPKE), waiting for its district pseudonym. `ref` is the
/// station's pseudonym of the rider; the raw id is never stored.
public struct DistrictSealed: Codable, Sendable, Equatable {
    public var ref: String
    /// HPKE encapsulated key, base64.
    public var enc: String
    /// HPKE ciphertext, base64.
    public var ct: String
    public init(ref: String, enc: String, ct: String) {
        self.ref = ref
        self.enc = enc
        self.ct = ct
    }
}

/// A hazard report going up (its rider known to the district by the district pseudonym).
public struct DistrictReport: Codable, Sendable, Equatable {
    public var id: Int
    /// Idempotency key: `STATION-report-ID`.
    public var key: String
    public var category: String
    public var location: String
    public var note: String?
    /// The rider's district pseudonym.
    public var rider: String
    /// RFC 3339 (UTC).
    public var created: String
    public init(
        id: Int, key: String, category: String, location: String, note: String?, rider: String, created: String
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

/// Check-ins of one station-local day in one category: an absolute count (never a pseudonym).
public struct DistrictDayVisits: Codable, Sendable, Equatable {
    /// `2026-12-07`, station time.
    public var day: String
    public var category: String
    public var visits: Int
    public init(day: String, category: String, visits: Int) {
        self.day = day
        self.category = category
        self.visits = visits
    }
}

/// The hub's answer to a look-up: station pseudonym (`ref`) → district pseudonym.
public struct DistrictRiderMapping: Codable, Sendable, Equatable {
    public var ref: String
    public var district: String
    public init(ref: String, district: String) {
        self.ref = ref
        self.district = district
    }
}

/// A look-up the hub refused (e.g. a sealed id it could not open): the sealed id is dropped.
public struct DistrictRefusal: Codable, Sendable, Equatable {
    public var ref: String
    public var reason: String
    public init(ref: String, reason: String) {
        self.ref = ref
        self.reason = reason
    }
}

/// The district's verdict on one of this station's reports.
public struct DistrictVerdict: Codable, Sendable, Equatable {
    /// The station's report id.
    public var id: Int
    /// verified, rejected
    public var verdict: String
    public var note: String?
    /// What the district credited (its points table, not the station's).
    public var points: Int
    /// RFC 3339.
    public var judged: String
    public init(id: Int, verdict: String, note: String?, points: Int, judged: String) {
        self.id = id
        self.verdict = verdict
        self.note = note
        self.points = points
        self.judged = judged
    }
}

/// One of the district's hazard categories and its points.
public struct DistrictCategory: Codable, Sendable, Equatable {
    public var id: String
    /// English.
    public var name: String
    public var nameZh: String?
    public var points: Int
    enum CodingKeys: String, CodingKey {
        case id, name, points
        case nameZh = "name_zh"
    }
    public init(id: String, name: String, nameZh: String?, points: Int) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.points = points
    }
}

/// A notice from the district (an activity, a volunteer call), shown on the kiosk from `from` to `until`.
public struct DistrictNotice: Codable, Sendable, Equatable {
    public var id: Int
    public var title: String
    public var titleZh: String?
    public var body: String
    public var bodyZh: String?
    /// RFC 3339.
    public var from: String
    public var until: String
    public var withdrawn: Bool
    enum CodingKeys: String, CodingKey {
        case id, title, body, from, until, withdrawn
        case titleZh = "title_zh"
        case bodyZh = "body_zh"
    }
    public init(
        id: Int, title: String, titleZh: String?, body: String, bodyZh: String?, from: String, until: String,
        withdrawn: Bool
    ) {
        self.id = id
        self.title = title
        self.titleZh = titleZh
        self.body = body
        self.bodyZh = bodyZh
        self.from = from
        self.until = until
        self.withdrawn = withdrawn
    }
}

/// A partner's service offered at the district's stations (legal aid, health checks, housing).
public struct DistrictService: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var nameZh: String?
    /// mon … sun; absent: every day.
    public var days: [String]?
    /// `HH:MM-HH:MM`.
    public var hours: String?
    public var withdrawn: Bool?
    enum CodingKeys: String, CodingKey {
        case id, name, days, hours, withdrawn
        case nameZh = "name_zh"
    }
    public init(id: String, name: String, nameZh: String?, days: [String]?, hours: String?, withdrawn: Bool?) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.days = days
        self.hours = hours
        self.withdrawn = withdrawn
    }
}

/// A ledger entry as a rider sees it.
public struct DistrictEntry: Codable, Sendable, Equatable {
    /// RFC 3339.
    public var at: String
    public var points: Int
    public var why: String
    public init(at: String, points: Int, why: String) {
        self.at = at
        self.points = points
        self.why = why
    }
}

/// A rider's district balance (by district pseudonym) and recent entries, newest first.
public struct DistrictBalance: Codable, Sendable, Equatable {
    public var rider: String
    public var balance: Int
    public var recent: [DistrictEntry]
    public init(rider: String, balance: Int, recent: [DistrictEntry]) {
        self.rider = rider
        self.balance = balance
        self.recent = recent
    }
}

/// What the hub's `GET .../changes` returned (its `cursor` passed beside it). Every part is keyed,
/// absolute state: applying it twice changes nothing. `categories`, when present, is the full table.
public struct DistrictChanges: Codable, Sendable, Equatable {
    public var verdicts: [DistrictVerdict]?
    public var categories: [DistrictCategory]?
    public var notices: [DistrictNotice]?
    public var services: [DistrictService]?
    public var balances: [DistrictBalance]?
    public init(
        verdicts: [DistrictVerdict]? = nil, categories: [DistrictCategory]? = nil, notices: [DistrictNotice]? = nil,
        services: [DistrictService]? = nil, balances: [DistrictBalance]? = nil
    ) {
        self.verdicts = verdicts
        self.categories = categories
        self.notices = notices
        self.services = services
        self.balances = balances
    }
}

/// A rider's district balance on the kiosk, after a scan: `lastKnown` when the last sync is older
/// than a few minutes (the hub may be away), with its age.
public struct RiderDistrict: Codable, Sendable, Equatable {
    public var balance: Int
    public var recent: [DistrictEntry]
    /// When the balance came from the hub (ISO 8601).
    public var asOf: String
    /// Seconds since the station last synced with the hub.
    public var age: Int
    public var lastKnown: Bool
    enum CodingKeys: String, CodingKey {
        case balance, recent, age
        case asOf = "as_of"
        case lastKnown = "last_known"
    }
    public init(balance: Int, recent: [DistrictEntry], asOf: String, age: Int, lastKnown: Bool) {
        self.balance = balance
        self.recent = recent
        self.asOf = asOf
        self.age = age
        self.lastKnown = lastKnown
    }
}

/// A district notice valid now, as the kiosk shows it (Chinese first, English beside).
public struct KioskNotice: Codable, Sendable, Equatable {
    public var id: Int
    public var title: String
    public var titleEn: String?
    public var body: String
    public var bodyEn: String?
    /// ISO 8601.
    public var until: String
    enum CodingKeys: String, CodingKey {
        case id, title, body, until
        case titleEn = "title_en"
        case bodyEn = "body_en"
    }
    public init(id: Int, title: String, titleEn: String?, body: String, bodyEn: String?, until: String) {
        self.id = id
        self.title = title
        self.titleEn = titleEn
        self.body = body
        self.bodyEn = bodyEn
        self.until = until
    }
}
