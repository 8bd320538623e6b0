/// The kiosk's, the hazard reports' and the metrics' methods of `io.waystation.Station`.

/// Everything the kiosk shows on arrival. Reader.
public enum GetKioskStatus: StationMethod {
    public static let name = "GetKioskStatus"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var kiosk: KioskStatus
        public init(kiosk: KioskStatus) { self.kiosk = kiosk }
    }
}

/// A scan at the door: checks a rider out when inside, else in, and opens a kiosk session. Kiosk.
public enum KioskScan: StationMethod {
    public static let name = "KioskScan"
    public struct Parameters: Codable, Sendable, Equatable {
        public var worker: String
        public var category: String
        public init(worker: String, category: String) {
            self.worker = worker
            self.category = category
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        /// checked_in, checked_out
        public var action: String
        public var occupancy: Int
        public var capacity: Int
        public var full: Bool
        /// Stands for the rider for a few minutes (GetRider, SubmitReport, EndSession).
        public var session: String
        public var rider: RiderSummary

        public init(action: String, occupancy: Int, capacity: Int, full: Bool, session: String, rider: RiderSummary) {
            self.action = action
            self.occupancy = occupancy
            self.capacity = capacity
            self.full = full
            self.session = session
            self.rider = rider
        }
    }
}

/// The rider of a kiosk session. Kiosk.
public enum GetRider: StationMethod {
    public static let name = "GetRider"
    public struct Parameters: Codable, Sendable, Equatable {
        public var session: String
        public init(session: String) { self.session = session }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var rider: RiderSummary
        public init(rider: RiderSummary) { self.rider = rider }
    }
}

/// Files a hazard report for the rider of a session. Kiosk.
public enum SubmitReport: StationMethod {
    public static let name = "SubmitReport"
    public struct Parameters: Codable, Sendable, Equatable {
        public var session: String
        public var category: String
        public var location: String
        public var note: String?
        public init(session: String, category: String, location: String, note: String?) {
            self.session = session
            self.category = category
            self.location = location
            self.note = note
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var report: HazardReport
        public var rider: RiderSummary
        public init(report: HazardReport, rider: RiderSummary) {
            self.report = report
            self.rider = rider
        }
    }
}

/// Ends a kiosk session. Kiosk.
public enum EndSession: StationMethod {
    public static let name = "EndSession"
    public struct Parameters: Codable, Sendable, Equatable {
        public var session: String
        public init(session: String) { self.session = session }
    }
    public typealias Reply = Empty
}

/// Hazard reports, newest first. Admin.
public enum ListReports: StationMethod {
    public static let name = "ListReports"
    public struct Parameters: Codable, Sendable, Equatable {
        public var status: String?
        public var limit: Int?
        public var since: String?
        public var until: String?
        public init(status: String? = nil, limit: Int? = nil, since: String? = nil, until: String? = nil) {
            self.status = status
            self.limit = limit
            self.since = since
            self.until = until
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var reports: [HazardReport]
        public init(reports: [HazardReport]) { self.reports = reports }
    }
}

/// Verifies (crediting the reporter's points) or rejects a pending report. Admin; audited.
public enum JudgeReport: StationMethod {
    public static let name = "JudgeReport"
    public struct Parameters: Codable, Sendable, Equatable {
        public var id: Int
        /// verified, rejected
        public var verdict: String
        public var note: String?
        public init(id: Int, verdict: String, note: String?) {
            self.id = id
            self.verdict = verdict
            self.note = note
        }
    }
    public struct Reply: Codable, Sendable, Equatable {
        public var report: HazardReport
        public init(report: HazardReport) { self.report = report }
    }
}

/// Every figure of `/metrics`. Reader.
public enum GetMetrics: StationMethod {
    public static let name = "GetMetrics"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var metrics: StationMetrics
        public init(metrics: StationMetrics) { self.metrics = metrics }
    }
}
