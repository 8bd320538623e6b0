/// The district link's methods of `io.waystation.Station`: the uplink role (or admin) only.

/// What is waiting to go up to the hub. Uplink.
public enum DistrictOutgoing: StationMethod {
    public static let name = "DistrictOutgoing"
    public struct Parameters: Codable, Sendable, Equatable {
        /// At most this many look-ups and this many reports (default and cap 500).
        public var limit: Int?
        public init(limit: Int? = nil) { self.limit = limit }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// The station's id at the hub (`[district] station`): the `{station}` of the hub's paths.
        public var station: String
        /// Sealed rider ids waiting for their district pseudonym (`POST .../riders/lookup`).
        public var lookups: [DistrictSealed]
        /// Reports not yet accepted whose rider has a district pseudonym (`POST .../reports`).
        public var reports: [DistrictReport]
        /// Absolute check-in counts of every day not yet accepted, today included (`POST .../visits`).
        public var visits: [DistrictDayVisits]
        /// The cursor to ask the hub's changes since (`GET .../changes?since=`); absent: from the start.
        public var cursor: String?
        public init(
            station: String, lookups: [DistrictSealed], reports: [DistrictReport], visits: [DistrictDayVisits],
            cursor: String?
        ) {
            self.station = station
            self.lookups = lookups
            self.reports = reports
            self.visits = visits
            self.cursor = cursor
        }
    }
}

/// What the hub took: reports accepted, look-ups answered (or refused), days of visits stored. Uplink.
public enum DistrictAccepted: StationMethod {
    public static let name = "DistrictAccepted"
    public struct Parameters: Codable, Sendable, Equatable {
        /// Station report ids the hub accepted.
        public var reports: [Int]?
        /// The hub's look-up answers; each drops its sealed id.
        public var riders: [DistrictRiderMapping]?
        /// Look-ups the hub refused; each drops its sealed id (the rider's next scan queues a new one).
        public var refused: [DistrictRefusal]?
        /// Days whose visit counts the hub stored.
        public var visitDays: [String]?
        enum CodingKeys: String, CodingKey {
            case reports, riders, refused
            case visitDays = "visit_days"
        }
        public init(
            reports: [Int]? = nil, riders: [DistrictRiderMapping]? = nil, refused: [DistrictRefusal]? = nil,
            visitDays: [String]? = nil
        ) {
            self.reports = reports
            self.riders = riders
            self.refused = refused
            self.visitDays = visitDays
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// Reports newly marked accepted (a repeat counts 0).
        public var reports: Int
        /// Riders newly mapped.
        public var riders: Int
        public init(reports: Int, riders: Int) {
            self.reports = reports
            self.riders = riders
        }
    }
}

/// Applies the hub's changes in one transaction and stores its cursor. Uplink.
public enum DistrictApply: StationMethod {
    public static let name = "DistrictApply"
    public struct Parameters: Codable, Sendable, Equatable {
        public var changes: DistrictChanges
        public var cursor: String
        public init(changes: DistrictChanges, cursor: String) {
            self.changes = changes
            self.cursor = cursor
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// Local reports newly judged by a verdict (a repeat counts 0).
        public var verdicts: Int
        public var cursor: String
        public init(verdicts: Int, cursor: String) {
            self.verdicts = verdicts
            self.cursor = cursor
        }
    }
}

/// The link as the daemon sees it. Uplink (and admin: `waystationctl district`).
public enum DistrictStatus: StationMethod {
    public static let name = "DistrictStatus"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var enrolled: Bool
        public var station: String?
        public var url: String?
        public var cursor: String?
        /// ISO 8601: the last DistrictApply.
        public var lastSync: String?
        /// Sealed ids waiting for a look-up.
        public var lookups: Int
        /// Reports not yet accepted by the hub, and how many of them still wait for their rider's
        /// district pseudonym.
        public var reports: Int
        public var reportsWithoutRider: Int
        public var riders: Int
        public var categories: Int
        public var notices: Int
        enum CodingKeys: String, CodingKey {
            case enrolled, station, url, cursor, lookups, reports, riders, categories, notices
            case lastSync = "last_sync"
            case reportsWithoutRider = "reports_without_rider"
        }
        public init(
            enrolled: Bool, station: String?, url: String?, cursor: String?, lastSync: String?, lookups: Int,
            reports: Int, reportsWithoutRider: Int, riders: Int, categories: Int, notices: Int
        ) {
            self.enrolled = enrolled
            self.station = station
            self.url = url
            self.cursor = cursor
            self.lastSync = lastSync
            self.lookups = lookups
            self.reports = reports
            self.reportsWithoutRider = reportsWithoutRider
            self.riders = riders
            self.categories = categories
            self.notices = notices
        }
    }
}

/// A rider's district pseudonym at this station, and where the hub is (admin: `riders redeem`).
public enum DistrictRider: StationMethod {
    public static let name = "DistrictRider"
    public struct Parameters: Codable, Sendable, Equatable {
        /// The rider's raw id (normalised, pseudonymised, never kept).
        public var worker: String
        public init(worker: String) { self.worker = worker }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// nil until the hub has answered a look-up of this rider.
        public var district: String?
        public var station: String
        public var url: String
        public var tokenFile: String
        public var caFile: String
        enum CodingKeys: String, CodingKey {
            case district, station, url
            case tokenFile = "token_file"
            case caFile = "ca_file"
        }
        public init(district: String?, station: String, url: String, tokenFile: String, caFile: String) {
            self.district = district
            self.station = station
            self.url = url
            self.tokenFile = tokenFile
            self.caFile = caFile
        }
    }
}
