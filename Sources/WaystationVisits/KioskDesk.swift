#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import WaystationStorage
import WaystationProtocol

/// What the kiosk at the door may do for a rider: scan in or out, see their points, report a hazard.
/// It holds the rider sessions and the scan limits; visits go through `VisitBook`, reports through
/// `HazardReportStore`. A kiosk never gets a rider's id back, nor the pseudonym: only a session token.
public actor KioskDesk: Reloadable {
    public enum Action: String, Sendable {
        case checkedIn = "checked_in"
        case checkedOut = "checked_out"
        /// The same rider again within the scan interval, inside: nothing changes.
        case alreadyCheckedIn = "already_checked_in"
    }

    public struct Rider: Sendable {
        /// Sum of the points of the rider's verified reports.
        public var points: Int
        /// Newest first.
        public var reports: [HazardReportRecord]
        /// The district balance (an enrolled station, once the hub sent one).
        public var district: RiderDistrict?
    }

    public struct ScanResult: Sendable {
        public var action: Action
        public var occupancy: Int
        public var capacity: Int
        public var full: Bool
        public var session: String
        public var rider: Rider
    }

    /// A refusal, with words safe to show (never a rider id or pseudonym).
    public enum Refusal: Error, Sendable, Equatable {
        case invalidID(String)
        case unknownCategory(String, known: [String])
        case rateLimited(retryAfter: Int)
        case sessionExpired
        case invalidReport(field: String, reason: String)
        case reportNotFound(Int64)
        case alreadyJudged(Int64, status: String)
        /// Check-in is paused (smoke); check-out still works.
        case checkInPaused(String)
    }

    /// A rider may have this many reports waiting for a verdict.
    public static let maxPendingReports = 20

    public nonisolated let visits: VisitBook
    public nonisolated let reports: HazardReportStore
    /// The district link (does nothing at a station with no `[district]`).
    public nonisolated let district: DistrictDesk?
    private var config: StationConfig
    private var sessions: KioskSessions
    private var limiter: ScanLimiter
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        config: StationConfig, visits: VisitBook, reports: HazardReportStore, district: DistrictDesk? = nil,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.district = district
        self.config = config
        self.visits = visits
        self.reports = reports
        self.logger = logger
        self.now = now
        sessions = KioskSessions(timeout: config.front.kiosk.sessionTimeout.seconds)
        limiter = ScanLimiter(
            perRider: config.front.kiosk.scanInterval.seconds, perMinute: config.front.kiosk.scansPerMinute)
    }

    public func reload(_ new: StationConfig) {
        config = new
        sessions.timeout = new.front.kiosk.sessionTimeout.seconds
        limiter.perRider = new.front.kiosk.scanInterval.seconds
        limiter.perMinute = new.front.kiosk.scansPerMinute
    }

    /// The categories riders may report: the district's when it sent any, else the config's.
    public var hazards: [StationConfig.Hazard] {
        get async { await district?.hazards(default: config.front.hazards) ?? config.front.hazards }
    }
    public var sessionCount: Int { sessions.count }

    /// A scan at the door: checks the rider out when inside, else in; opens a session either way. The
    /// id is checked by `RiderID`'s rule, hashed once, and the visit decided and written in one
    /// durable transaction. The same rider again within the scan interval while inside is told so
    /// (no check-out), and `checkInPaused` (a reason) refuses check-ins but not check-outs.
    /// `category` may be `VisitBook.unknownCategory` when the rider chose none: the kiosk never
    /// guesses one.
    public func scan(worker: String, category: String, checkInPaused: String? = nil) async throws -> ScanResult {
        let riderID: RiderID
        do { riderID = try RiderID(worker) } catch { throw Refusal.invalidID(error.description) }
        let categories = await visits.categories
        guard categories.contains(category) || category == VisitBook.unknownCategory else {
            throw Refusal.unknownCategory(category, known: categories)
        }
        let pseudonym = visits.pseudonym(riderID)
        let at = now()
        let inside = try await visits.store.isInside(worker: pseudonym)
        if inside, limiter.scannedRecently(pseudonym, now: at) {
            await district?.scanned(riderID, pseudonym: pseudonym)
            let token = KioskSessions.newToken()
            sessions.open(token: token, pseudonym: pseudonym, now: at)
            let occupancy = try await visits.store.occupancy()
            return ScanResult(
                action: .alreadyCheckedIn, occupancy: occupancy, capacity: config.station.capacity,
                full: occupancy > config.station.capacity, session: token, rider: try await self.rider(pseudonym))
        }
        if !inside, let why = checkInPaused { throw Refusal.checkInPaused(why) }
        if let retry = limiter.admit(pseudonym, now: at) {
            logger.notice("kiosk scan refused: rate limit", metadata: ["retry_after": "\(retry)"])
            throw Refusal.rateLimited(retryAfter: retry)
        }
        let action: Action
        let occupancy: Int
        var capacity = config.station.capacity
        var full = false
        switch try await visits.scan(pseudonym: pseudonym, category: category, source: "kiosk", at: at) {
        case .checkedOut(_, let n):
            action = .checkedOut
            occupancy = n
        case .checkedIn(let r):
            action = .checkedIn
            occupancy = r.occupancy
            capacity = r.capacity
            full = r.full
        }
        await district?.scanned(riderID, pseudonym: pseudonym)
        let token = KioskSessions.newToken()
        sessions.open(token: token, pseudonym: pseudonym, now: at)
        return ScanResult(
            action: action, occupancy: occupancy, capacity: capacity, full: full, session: token,
            rider: try await self.rider(pseudonym))
    }

    /// The rider of a session: points and recent reports.
    public func rider(session: String) async throws -> Rider {
        guard let pseudonym = sessions.use(session, now: now()) else { throw Refusal.sessionExpired }
        return try await rider(pseudonym)
    }

    public func endSession(_ session: String) {
        sessions.end(session)
    }

    /// Files a hazard report for the rider of a session (durable before it returns) and queues it for
    /// every `[[notify]]` target with `reports = true`.
    public func submitReport(session: String, category: String, location: String, note: String?) async throws
        -> (report: HazardReportRecord, rider: Rider)
    {
        guard
            let pseudonym = sessions.reporter(session, now: now(), window: config.front.kiosk.reportWindow.seconds)
        else { throw Refusal.sessionExpired }
        let hazards = await self.hazards
        guard let hazard = hazards.first(where: { $0.id == category }) else {
            throw Refusal.invalidReport(
                field: "category", reason: "unknown; known: \(hazards.map(\.id).joined(separator: ", "))")
        }
        let place = location.trimmingWhitespaceAndNewlines()
        guard !place.isEmpty else { throw Refusal.invalidReport(field: "location", reason: "empty") }
        guard place.count <= 80 else {
            throw Refusal.invalidReport(field: "location", reason: "longer than 80 characters")
        }
        guard !Self.hasControl(place) else {
            throw Refusal.invalidReport(field: "location", reason: "control characters")
        }
        let text = note?.trimmingWhitespaceAndNewlines()
        let cleanNote = (text?.isEmpty ?? true) ? nil : text
        if let cleanNote {
            guard cleanNote.count <= 200 else {
                throw Refusal.invalidReport(field: "note", reason: "longer than 200 characters")
            }
            guard !Self.hasControl(cleanNote.replacingAll("\n", with: " ")) else {
                throw Refusal.invalidReport(field: "note", reason: "control characters")
            }
        }
        let before = try await reports.rider(pseudonym, limit: 0)
        if before.pending >= Self.maxPendingReports { throw Refusal.rateLimited(retryAfter: 3600) }
        let record = HazardReportRecord(
            reporter: pseudonym, category: hazard.id, location: place, note: cleanNote, created: now(),
            points: hazard.points)
        let messages = outboxMessages(event: "submitted", hazards: hazards)
        let stored = try await reports.submit(record, messages: messages)
        sessions.acted(session, now: now())
        logger.info(
            "hazard report filed",
            metadata: ["report": "\(stored.id ?? 0)", "category": "\(hazard.id)", "rider": "\(pseudonym.prefix(12))"])
        return (stored, try await rider(pseudonym))
    }

    /// Verifies or rejects a pending report (an admin's call; audited).
    public func judge(id: Int64, verified: Bool, note: String?, by user: String, uid: UInt32) async throws
        -> HazardReportRecord
    {
        let status: HazardReportRecord.Status = verified ? .verified : .rejected
        let current = try await reports.report(id)
        let hazards = await self.hazards
        let points =
            current.flatMap { r in hazards.first { $0.id == r.category }?.points }
            ?? current?.points ?? 0
        let outcome = try await reports.judge(
            id: id, status: status, points: points, note: note, by: user, uid: uid, at: now(),
            messages: outboxMessages(event: status.rawValue, hazards: hazards))
        switch outcome {
        case .judged(let r):
            logger.notice(
                "hazard report judged", metadata: ["report": "\(id)", "verdict": "\(status.rawValue)", "by": "\(user)"])
            return r
        case .notFound: throw Refusal.reportNotFound(id)
        case .alreadyJudged(let r): throw Refusal.alreadyJudged(id, status: r.status.rawValue)
        }
    }

    private func rider(_ pseudonym: String) async throws -> Rider {
        let r = try await reports.rider(pseudonym, limit: 10)
        return Rider(points: r.points, reports: r.reports, district: await district?.rider(pseudonym))
    }

    static func hasControl(_ s: String) -> Bool {
        s.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// The district's copy of a report, for each target that takes reports.
    private func outboxMessages(event: String, hazards: [StationConfig.Hazard])
        -> @Sendable (HazardReportRecord) -> [HazardReportStore.Message]
    {
        let targets = config.notify.filter(\.reports).map(\.name)
        let station = config.station
        let names = Dictionary(hazards.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return { r in
            guard !targets.isEmpty else { return [] }
            let payload = ReportPayload.build(r, event: event, station: station, hazard: names[r.category])
            return targets.map { ($0, payload) }
        }
    }
}
