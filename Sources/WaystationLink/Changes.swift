/// `GET .../changes?since=CURSOR`: everything the station should apply, as keyed absolute state
/// (applying the same answer twice is harmless). Store `cursor` only after applying the rest.
public struct DistrictChanges: Codable, Sendable, Hashable {
    /// Opaque; send it back as `since`. Empty asks for everything.
    public var cursor: String
    public var verdicts: [Verdict]
    /// The district's full category table, present only when it changed since the cursor.
    public var categories: [DistrictCategory]?
    public var notices: [Notice]
    public var services: [DistrictService]
    public var balances: [Balance]

    public init(
        cursor: String, verdicts: [Verdict] = [], categories: [DistrictCategory]? = nil, notices: [Notice] = [],
        services: [DistrictService] = [], balances: [Balance] = []
    ) {
        self.cursor = cursor
        self.verdicts = verdicts
        self.categories = categories
        self.notices = notices
        self.services = services
        self.balances = balances
    }
}

/// The district's judgement of one of this station's reports.
public struct Verdict: Codable, Sendable, Hashable {
    /// The station's report id.
    public var id: Int
    /// `verified` or `rejected`.
    public var verdict: String
    public var note: String?
    /// Points credited (0 when rejected).
    public var points: Int
    public var judged: String
    public init(id: Int, verdict: String, note: String?, points: Int, judged: String) {
        self.id = id
        self.verdict = verdict
        self.note = note
        self.points = points
        self.judged = judged
    }
}

/// A hazard category of the district and the points a verified report earns.
public struct DistrictCategory: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var nameZh: String
    public var points: Int
    enum CodingKeys: String, CodingKey {
        case id, name, points
        case nameZh = "name_zh"
    }
    public init(id: String, name: String, nameZh: String, points: Int) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.points = points
    }
}

/// A notice (activity, volunteer call) for kiosks, between `from` and `until`.
public struct Notice: Codable, Sendable, Hashable {
    public var id: Int
    public var title: String
    public var titleZh: String?
    public var body: String?
    public var bodyZh: String?
    public var from: String
    public var until: String
    /// True: remove it from the kiosk.
    public var withdrawn: Bool
    enum CodingKeys: String, CodingKey {
        case id, title, body, from, until, withdrawn
        case titleZh = "title_zh"
        case bodyZh = "body_zh"
    }
    public init(
        id: Int, title: String, titleZh: String?, body: String?, bodyZh: String?, from: String, until: String,
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

/// A partner's service offered at stations (legal aid, health checks, ...).
public struct DistrictService: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var nameZh: String?
    public var description: String?
    public var descriptionZh: String?
    /// The days it is on offer (`mon` ... `sun`); nil: every day.
    public var days: [String]?
    /// Its hours, `HH:MM-HH:MM` in the district's time zone; nil: all day.
    public var hours: String?
    public var withdrawn: Bool
    enum CodingKeys: String, CodingKey {
        case id, name, description, days, hours, withdrawn
        case nameZh = "name_zh"
        case descriptionZh = "description_zh"
    }
    public init(
        id: String, name: String, nameZh: String?, description: String?, descriptionZh: String?,
        days: [String]? = nil, hours: String? = nil, withdrawn: Bool
    ) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
        self.description = description
        self.descriptionZh = descriptionZh
        self.days = days
        self.hours = hours
        self.withdrawn = withdrawn
    }
}

/// A rider's district balance (absolute) and their latest ledger entries, newest first.
public struct Balance: Codable, Sendable, Hashable {
    public var rider: String
    public var balance: Int
    public var recent: [LedgerLine]
    public init(rider: String, balance: Int, recent: [LedgerLine]) {
        self.rider = rider
        self.balance = balance
        self.recent = recent
    }
}

public struct LedgerLine: Codable, Sendable, Hashable {
    public var at: String
    public var points: Int
    public var why: String
    public init(at: String, points: Int, why: String) {
        self.at = at
        self.points = points
        self.why = why
    }
}

/// `POST .../redeem`: spend a rider's points on a gift, once per `key`.
public struct RedeemRequest: Codable, Sendable, Hashable {
    public var rider: String
    public var points: Int
    public var gift: String
    public var key: String
    public var by: String
    public init(rider: String, points: Int, gift: String, key: String, by: String) {
        self.rider = rider
        self.points = points
        self.gift = gift
        self.key = key
        self.by = by
    }
}

/// The balance after the redemption (or after the earlier one with the same key).
public struct RedeemResponse: Codable, Sendable, Hashable {
    public var balance: Int
    public init(balance: Int) { self.balance = balance }
}

/// Every error answer: `{"error": code, "message": text}`; `balance` with 409 `insufficient`.
public struct LinkErrorBody: Codable, Sendable, Hashable {
    public var error: String
    public var message: String
    public var balance: Int?
    public init(error: String, message: String, balance: Int? = nil) {
        self.error = error
        self.message = message
        self.balance = balance
    }
}
