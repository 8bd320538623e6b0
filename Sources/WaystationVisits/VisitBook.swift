#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import ServiceLifecycle
import WaystationStorage
import WaystationProtocol

/// Check-ins and check-outs: pseudonymises rider ids, keeps the rules (idempotent check-in, no
/// check-out without a visit, automatic close after the maximum stay, "station full" notice), and
/// tells subscribers. Raw ids go no further than `pseudonym(worker:)` (checked and normalised by `RiderID`).
public actor VisitBook: Service, Reloadable {
    public enum Event: Sendable {
        case checkIn(VisitRecord, occupancy: Int, full: Bool)
        case checkOut(VisitRecord, occupancy: Int)
        case autoClosed(VisitRecord)
    }

    public struct CheckInResult: Sendable {
        public var visit: VisitRecord
        /// False when the rider was already inside and got the open visit back.
        public var created: Bool
        public var occupancy: Int
        public var capacity: Int
        public var full: Bool { capacity > 0 && occupancy > capacity }
    }

    public nonisolated let store: VisitStore
    let pseudonymizer: Pseudonymizer
    private var settings: StationConfig.Visits
    private var capacity: Int
    private let logger: Logger
    /// New visits since the daemon started, by category (for `/metrics`).
    public private(set) var checkInsSinceStart: [String: Int] = [:]
    /// What retention may count from (shared with the other domains' retention).
    private let clock: RetentionClock
    private var clockDistrusted = false
    /// Check-ins and check-outs as they happen (for `Watch`).
    public nonisolated let events = Broadcaster<Event>()

    /// The station's thread, given by the composition root: `run`'s timer and loop are there.
    private nonisolated let station: ThreadExecutor

    public init(
        store: VisitStore, config: StationConfig, logger: Logger, station: ThreadExecutor,
        clock: RetentionClock? = nil
    ) throws {
        self.station = station
        self.store = store
        self.clock =
            clock ?? RetentionClock(newestRecord: nil, lastHorizon: nil, requireSynchronised: false)
        settings = config.visits
        capacity = config.station.capacity
        self.logger = logger
        pseudonymizer = try Pseudonymizer.loadOrCreate(path: config.visits.secretPath)
    }

    public func reload(_ config: StationConfig) {
        settings = config.visits
        capacity = config.station.capacity
    }

    public var categories: [String] { settings.categories }

    /// The rider's pseudonym (the only place a rider's id meets the key).
    public nonisolated func pseudonym(_ rider: RiderID) -> String { pseudonymizer.pseudonym(rider) }

    /// The category of a visit whose rider chose none at the kiosk (never guessed).
    public static let unknownCategory = "unknown"

    /// Checks and normalises a rider id; a refusal is a `VisitError` with words safe to show.
    public nonisolated func pseudonym(worker: String) throws(VisitError) -> String {
        do {
            return pseudonym(try RiderID(worker))
        } catch {
            throw VisitError(error.description)
        }
    }

    /// Checks a rider in. Throws `VisitError` for an unknown category or an invalid id.
    public func checkIn(worker: String, category: String, source: String?, at now: Date = Date()) async throws
        -> CheckInResult
    {
        let id = try pseudonym(worker: worker)
        try checkCategory(category)
        let (visit, created, occupancy) = try await store.checkIn(
            worker: id, category: category, source: source, at: now)
        return checkedIn(visit, created: created, occupancy: occupancy)
    }

    /// Checks a rider out; nil when the rider has no open visit.
    public func checkOut(worker: String, at now: Date = Date()) async throws -> (visit: VisitRecord, occupancy: Int)? {
        let id = try pseudonym(worker: worker)
        guard let (visit, occupancy) = try await store.checkOut(worker: id, at: now) else { return nil }
        checkedOut(visit, occupancy: occupancy)
        return (visit, occupancy)
    }

    /// What a scan at the door did.
    public enum ScanOutcome: Sendable {
        case checkedIn(CheckInResult)
        case checkedOut(visit: VisitRecord, occupancy: Int)
    }

    /// A scan at the door, for a rider already pseudonymised: checks the rider out when inside, else
    /// in, deciding and writing in one durable transaction (no moment where a crash or a second scan
    /// finds the decision made but not written).
    public func scan(pseudonym: String, category: String, source: String?, at now: Date = Date()) async throws
        -> ScanOutcome
    {
        try checkCategory(category)
        switch try await store.scan(worker: pseudonym, category: category, source: source, at: now) {
        case .checkedIn(let visit, let occupancy):
            return .checkedIn(checkedIn(visit, created: true, occupancy: occupancy))
        case .checkedOut(let visit, let occupancy):
            checkedOut(visit, occupancy: occupancy)
            return .checkedOut(visit: visit, occupancy: occupancy)
        }
    }

    private func checkCategory(_ category: String) throws(VisitError) {
        guard settings.categories.contains(category) || category == Self.unknownCategory else {
            throw VisitError("unknown category \"\(category)\"; known: \(settings.categories.joined(separator: ", "))")
        }
    }

    private func checkedIn(_ visit: VisitRecord, created: Bool, occupancy: Int) -> CheckInResult {
        let result = CheckInResult(visit: visit, created: created, occupancy: occupancy, capacity: capacity)
        if created {
            checkInsSinceStart[visit.category, default: 0] += 1
            logger.info(
                "check-in",
                metadata: ["visit": "\(visit.id ?? 0)", "category": "\(visit.category)", "occupancy": "\(occupancy)"])
            if result.full {
                logger.notice(
                    "station full: more riders inside than its capacity; nobody is refused",
                    metadata: ["occupancy": "\(occupancy)", "capacity": "\(capacity)"])
            }
            publish(.checkIn(visit, occupancy: occupancy, full: result.full))
        }
        return result
    }

    private func checkedOut(_ visit: VisitRecord, occupancy: Int) {
        logger.info("check-out", metadata: ["visit": "\(visit.id ?? 0)", "occupancy": "\(occupancy)"])
        publish(.checkOut(visit, occupancy: occupancy))
    }

    /// Closes overstayed visits and deletes expired ones.
    public func maintain(now: Date = Date()) async {
        // An implausible or jumped clock closes nothing; an unsynchronised one closes overstayed
        // visits (at check-in + maximum stay) but deletes nothing.
        var horizon: Date?
        switch clock.verdict(now: now) {
        case .trusted(let h): horizon = h
        case .distrusted(let why) where why == RetentionClock.unsynchronised: horizon = nil
        case .distrusted(let why):
            if !clockDistrusted {
                logger.warning(
                    "visits are not closed or pruned while the clock is in doubt", metadata: ["why": "\(why)"])
            }
            clockDistrusted = true
            return
        }
        clockDistrusted = false
        do {
            let retention = settings.retention.seconds
            let period = maintenanceInterval
            let (closed, deleted) = try await store.maintain(
                now: now, maxStay: settings.maxStay.seconds, retainSince: horizon?.addingTimeInterval(-retention),
                limit: { RetentionClock.limit(count: $0, period: period, retention: retention) })
            for v in closed {
                logger.info("visit closed automatically after the maximum stay", metadata: ["visit": "\(v.id ?? 0)"])
                publish(.autoClosed(v))
            }
            if deleted > 0 {
                logger.info("deleted expired visits", metadata: ["count": "\(deleted)"])
                // Deleted rows are overwritten (secure_delete); the WAL that still holds them is emptied.
                try? await store.database.checkpoint()
            }
        } catch {
            logger.error("visit maintenance failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `maintain` every minute (more often for short maximum stays) until shutdown.
    /// Its timer is kept by the station's thread, and it runs there (the database has its own).
    public func run() async throws {
        await withTaskExecutorPreference(station) {
            try? await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await self.maintain()
                    let every = await self.maintenanceInterval
                    try await self.station.periodicSleep(for: .milliseconds(Int64(every * 1000)))
                }
            }
        }
    }

    /// Seconds between `maintain` passes: a minute, more often for short maximum stays.
    private var maintenanceInterval: TimeInterval { min(60, max(0.2, settings.maxStay.seconds / 4)) }

    private func publish(_ e: Event) { events.publish(e) }

    public func statistics(from: Date, to: Date, time: LocalTime = .station) async throws -> VisitStatistics {
        let visits = try await store.visitsOverlapping(from: from, to: to)
        return VisitStatistics.compute(visits, from: from, to: to, time: time)
    }
}
