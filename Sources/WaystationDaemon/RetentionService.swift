#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import ServiceLifecycle
import WaystationAlerts
import WaystationCore
import WaystationPolling
import WaystationStorage

/// Prunes old rows of every domain once an hour: value history and aggregates by their retention,
/// resolved alerts, delivered notifications and expired silences after `retain_alerts`
/// (visits prune themselves with their own retention). Then the WAL is checkpointed. Retention
/// counts from `RetentionClock`'s horizon, never from a clock it cannot trust, and each pass deletes
/// at most one day table of history per kind and the retention's share of other rows.
public actor RetentionService: Service, Reloadable {
    private var config: StationConfig
    private let history: HistoryStore
    private let alerts: AlertService
    private let database: StationDatabase
    private let logger: Logger
    /// The station's thread: the loop and its timer run there.
    private let station: ThreadExecutor
    /// Shared with the visits and the self-test.
    public nonisolated let clock: RetentionClock
    /// Seconds between passes.
    static let period: TimeInterval = 3600

    init(
        config: StationConfig, history: HistoryStore, alerts: AlertService, database: StationDatabase,
        clock: RetentionClock, logger: Logger, station: ThreadExecutor
    ) {
        self.station = station
        self.config = config
        self.history = history
        self.alerts = alerts
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// The retention clock of a database: anchored at its newest record (history, visits, alerts,
    /// reports) and at the horizon the last run reached.
    static func clock(for database: StationDatabase, history: HistoryStore, config: StationConfig) async throws
        -> RetentionClock
    {
        let newestElsewhere = try await database.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT max(t) FROM (SELECT max(checked_in) AS t FROM visit UNION ALL SELECT max(updated) FROM alert
                    UNION ALL SELECT max(created) FROM outbox UNION ALL SELECT max(created) FROM hazard_report)
                    """)
        }.map(StationDatabase.date(ms:))
        let newest = [try await history.newestSample(), newestElsewhere].compactMap { $0 }.max()
        return RetentionClock(
            newestRecord: newest, lastHorizon: try await database.retentionHorizon(),
            requireSynchronised: config.storage.requireSynchronisedClock)
    }

    public func reload(_ new: StationConfig) {
        config = new
        clock.setRequireSynchronised(new.storage.requireSynchronisedClock)
    }

    /// Prunes every hour and checks the database file every ten minutes (a damaged page shows as a
    /// StorageFailing alert, and the watchdog then lets systemd restart the daemon onto a fresh file).
    /// Its timer is kept by the station's thread, and it runs there (the database has its own).
    public func run() async throws {
        await withTaskExecutorPreference(station) {
            try? await cancelWhenGracefulShutdown {
                var rounds = 0
                while !Task.isCancelled {
                    if rounds % 6 == 0 { await self.prune(now: Date()) }
                    if let damage = await self.database.quickCheck() {
                        self.logger.critical("the database is damaged", metadata: ["quick_check": "\(damage)"])
                    }
                    rounds += 1
                    try await self.station.periodicSleep(for: .seconds(600))
                }
            }
        }
    }

    private var skipping: String?

    /// One pass over every table; skipped while the clock is in doubt.
    public func prune(now: Date) async {
        let horizon: Date
        switch clock.verdict(now: now) {
        case .distrusted(let why):
            if skipping != why {
                logger.warning("pruning skipped while the clock is in doubt", metadata: ["why": "\(why)"])
            }
            skipping = why
            return
        case .trusted(let h): horizon = h
        }
        skipping = nil
        if now.timeIntervalSince(horizon) > 60 {
            logger.notice(
                "retention counts from the station's newest record, not the clock",
                metadata: ["horizon": "\(horizon.formatted(.iso8601))", "clock": "\(now.formatted(.iso8601))"])
        }
        let storage = config.storage
        do {
            let removed = try await history.prune(
                now: horizon, retainValues: storage.retainValues.seconds,
                retainAggregates: storage.retainAggregates.seconds, maxDays: 1,
                limit: {
                    RetentionClock.limit(count: $0, period: Self.period, retention: storage.retainAggregates.seconds)
                })
            let alertRows = try await alerts.prune(
                before: horizon.addingTimeInterval(-storage.retainAlerts.seconds),
                limit: { RetentionClock.limit(count: $0, period: Self.period, retention: storage.retainAlerts.seconds) }
            )
            try await database.setRetentionHorizon(horizon)
            if removed.valueBlocks + removed.aggregateBlocks + alertRows > 0 {
                logger.info(
                    "pruned old rows",
                    metadata: [
                        "value_blocks": "\(removed.valueBlocks)", "aggregate_blocks": "\(removed.aggregateBlocks)",
                        "alerts": "\(alertRows)",
                    ])
                try await database.checkpoint()
            }
        } catch let wrong as ClockLooksWrong {
            logger.warning("pruning skipped", metadata: ["why": "\(wrong)"])
        } catch {
            logger.error("pruning failed", metadata: ["error": "\(error)"])
        }
    }
}
