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
/// (visits prune themselves with their own retention). Then the WAL is checkpointed.
public actor RetentionService: Service, Reloadable {
    private var config: StationConfig
    private let history: HistoryStore
    private let alerts: AlertService
    private let database: StationDatabase
    private let logger: Logger
    /// The station's thread: the loop and its timer run there.
    private let station: ThreadExecutor

    init(
        config: StationConfig, history: HistoryStore, alerts: AlertService, database: StationDatabase, logger: Logger,
        station: ThreadExecutor
    ) {
        self.station = station
        self.config = config
        self.history = history
        self.alerts = alerts
        self.database = database
        self.logger = logger
    }

    public func reload(_ new: StationConfig) { config = new }

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

    private var clock = ClockGuard()

    /// One pass over every table; skipped while the clock is in doubt.
    public func prune(now: Date) async {
        if let why = clock.distrust(now: now) {
            logger.warning("pruning skipped while the clock is in doubt", metadata: ["why": "\(why)"])
            return
        }
        do {
            let removed = try await history.prune(
                now: now, retainValues: config.storage.retainValues.seconds,
                retainAggregates: config.storage.retainAggregates.seconds)
            let alertRows = try await alerts.prune(
                before: now.addingTimeInterval(-config.storage.retainAlerts.seconds))
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
