#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import ServiceLifecycle
import WaystationStorage

/// Check-ins and check-outs: pseudonymises rider ids, keeps the rules (idempotent check-in, no
/// check-out without a visit, automatic close after the maximum stay, "station full" notice), and
/// tells subscribers. Raw ids go no further than `pseudonym(_:)`.
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
    private var clock = ClockGuard()
    private var clockDistrusted = false
    /// Check-ins and check-outs as they happen (for `Watch`).
    public nonisolated let events = Broadcaster<Event>()

    public init(store: VisitStore, config: StationConfig, logger: Logger) throws {
        self.store = store
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

    /// The category of a visit whose rider chose none at the kiosk (never guessed).
    public static let unknownCategory = "unknown"

    public nonisolated func pseudonym(_ worker: String) -> String { pseudonymizer.pseudonym(worker) }

    /// Checks a rider in. Throws `VisitError` for an unknown category or an empty id.
    public func checkIn(worker: String, category: String, source: String?, at now: Date = Date()) async throws
        -> CheckInResult
    {
        try Self.validate(worker)
        guard settings.categories.contains(category) || category == Self.unknownCategory else {
            throw VisitError("unknown category \"\(category)\"; known: \(settings.categories.joined(separator: ", "))")
        }
        let id = pseudonym(worker)
        let (visit, created, occupancy) = try await store.checkIn(
            worker: id, category: category, source: source, at: now)
        let result = CheckInResult(visit: visit, created: created, occupancy: occupancy, capacity: capacity)
        if created {
            checkInsSinceStart[category, default: 0] += 1
            logger.info(
                "check-in",
                metadata: ["visit": "\(visit.id ?? 0)", "category": "\(category)", "occupancy": "\(occupancy)"])
            if result.full {
                logger.notice(
                    "station full: more riders inside than its capacity; nobody is refused",
                    metadata: ["occupancy": "\(occupancy)", "capacity": "\(capacity)"])
            }
            publish(.checkIn(visit, occupancy: occupancy, full: result.full))
        }
        return result
    }

    /// A rider id as a card reader or keypad gives it: 1 to 64 letters, digits, spaces and + - _ .
    /// (the message never repeats the id).
    public static func validate(_ worker: String) throws(VisitError) {
        let trimmed = worker.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw VisitError("the rider id is empty") }
        guard worker.count <= 64 else { throw VisitError("the rider id is longer than 64 characters") }
        let allowed = { (s: Unicode.Scalar) in
            TextScalars.isASCIIAlphanumeric(s) || " +-_.".unicodeScalars.contains(s)
        }
        guard worker.unicodeScalars.allSatisfy(allowed) else {
            throw VisitError("the rider id may hold only letters, digits, spaces and + - _ .")
        }
    }

    /// Checks a rider out; nil when the rider has no open visit.
    public func checkOut(worker: String, at now: Date = Date()) async throws -> (visit: VisitRecord, occupancy: Int)? {
        try Self.validate(worker)
        let id = pseudonym(worker)
        guard let (visit, occupancy) = try await store.checkOut(worker: id, at: now) else { return nil }
        logger.info("check-out", metadata: ["visit": "\(visit.id ?? 0)", "occupancy": "\(occupancy)"])
        publish(.checkOut(visit, occupancy: occupancy))
        return (visit, occupancy)
    }

    /// Closes overstayed visits and deletes expired ones.
    public func maintain(now: Date = Date()) async {
        if let why = clock.distrust(now: now) {
            if !clockDistrusted {
                logger.warning(
                    "visits are not closed or pruned while the clock is in doubt", metadata: ["why": "\(why)"])
            }
            clockDistrusted = true
            return
        }
        clockDistrusted = false
        do {
            let (closed, deleted) = try await store.maintain(
                now: now, maxStay: settings.maxStay.seconds,
                retainSince: now.addingTimeInterval(-settings.retention.seconds))
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
        await withTaskExecutorPreference(ThreadExecutor.station) {
            try? await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await self.maintain()
                    let every = min(60, max(0.2, await self.settings.maxStay.seconds / 4))
                    try await ThreadExecutor.stationSleep(for: .milliseconds(Int64(every * 1000)))
                }
            }
        }
    }

    private func publish(_ e: Event) { events.publish(e) }

    public func statistics(from: Date, to: Date, time: LocalTime = .station) async throws -> VisitStatistics {
        let visits = try await store.visitsOverlapping(from: from, to: to)
        return VisitStatistics.compute(visits, from: from, to: to, time: time)
    }
}
