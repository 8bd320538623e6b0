#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import ServiceLifecycle
import UnixSignals
import WaystationAlerts
import WaystationControl
import WaystationCore
import WaystationPolling
import WaystationStorage
import WaystationVisits

/// The composition root: opens storage, builds every service with what it needs, and runs them as
/// one `ServiceGroup` in dependency order (started in that order, stopped in reverse: the control
/// socket closes before polling stops and flushes history; the notifier stops last, so a hung
/// receiver never holds up the flush, and gets a few seconds for a delivery in progress).
public struct StationDaemon: Sendable {
    public let database: StationDatabase
    public let polling: PollingEngine
    public let alerts: AlertService
    public let notifier: Notifier
    /// The http(s) notifications, handed to waystation-uplink over the control socket.
    public let notifications: NotificationDesk
    public let visits: VisitBook
    public let kiosk: KioskDesk
    public let control: ControlServer
    public let reloader: ReloadService
    public let systemd: SystemdService
    public let retention: RetentionService
    /// Held for the life of the daemon: one instance per state directory.
    let lock: StateLock
    let logger: Logger

    /// Every table of every domain.
    public static let migrations =
        HistoryStore.migrations + VisitStore.migrations + AlertStore.migrations + Outbox.migrations
        + HazardReportStore.migrations + DistrictStore.migrations

    /// Builds the station; storage is open and the control socket listens when this returns.
    public init(configPath: String, config: StationConfig, notifier systemdNotifier: SystemdNotifier, logger: Logger)
        async throws
    {
        self.logger = logger
        // The station's thread: the monitor, the alert service and every periodic service run on it.
        let station = ThreadExecutor(name: "station")
        lock = try StateLock(directory: PathText.parent(config.storage.path))
        database = try StationDatabase(path: config.storage.path, migrations: Self.migrations, logger: logger)
        let history = HistoryStore(database: database)
        polling = try await PollingEngine(config: config, history: history, logger: logger, station: station)
        let maintenance = MaintenanceStore(database: database)
        await polling.monitor.restoreMaintenance(try await maintenance.load())
        // LAST GOOD after a restart: each device's newest stored reading, until it is polled again.
        await polling.monitor.restoreLastGood((try? await history.lastReadings()) ?? [:])
        let alertStore = AlertStore(database: database)
        alerts = AlertService(
            config: config, store: alertStore, snapshots: polling.monitor, relays: polling, logger: logger,
            station: station)
        try await alerts.restore()
        if let aside = database.health.status.recoveredFrom {
            // Which slots were held off is lost with the damaged file: hold them all off (fail safe).
            await alerts.latchAll(
                kind: .storageRecovered,
                reason: "storage recovered (\(PathText.lastComponent(aside))); check the slot, then enable-slot"
            )
        }
        let alerts = self.alerts
        await polling.monitor.setAfterIngest(alerts)
        notifier = Notifier(
            config: config, outbox: Outbox(database: database), alerts: alerts, logger: logger, station: station)
        notifications = NotificationDesk(
            config: config, outbox: Outbox(database: database), alerts: alerts, logger: logger, station: station)
        let clock = try await RetentionService.clock(for: database, history: history, config: config)
        visits = try VisitBook(
            store: VisitStore(database: database), config: config, logger: logger, station: station, clock: clock)
        let district = try DistrictDesk(config: config, store: DistrictStore(database: database), logger: logger)
        kiosk = KioskDesk(
            config: config, visits: visits, reports: HazardReportStore(database: database), district: district,
            logger: logger)
        reloader = ReloadService(
            path: configPath, config: config, monitor: polling.monitor, notifier: systemdNotifier, logger: logger)
        control = try ControlServer(
            path: config.control.socket,
            policy: RolePolicy(config: config),
            handler: StationService(
                polling: polling, alerts: alerts, visits: visits, maintenance: maintenance, database: database,
                config: reloader, logger: logger, kiosk: kiosk, retentionClock: clock, notifications: notifications),
            limits: {
                var limits = ControlServer.Limits()
                limits.idleTimeout = config.control.idleTimeout
                return limits
            }(), logger: logger)
        retention = RetentionService(
            config: config, history: history, alerts: alerts, database: database, clock: clock, logger: logger,
            station: station)
        systemd = SystemdService(
            notifier: systemdNotifier, polling: polling, alerts: alerts, database: database, logger: logger,
            station: station)
        let control = self.control
        await reloader.register([polling, alerts, notifier, notifications, visits, kiosk, district, retention])
        await reloader.onApplied { config in control.update(policy: RolePolicy(config: config)) }
        await reloader.statusLine { [systemd] in await systemd.statusLine() }
    }

    /// Runs until SIGTERM or SIGINT, then stops gracefully and checkpoints the database.
    public func run(maximumShutdown: Duration = .seconds(20)) async throws {
        var config = ServiceGroupConfiguration(
            services: [
                .init(service: notifier), .init(service: polling), .init(service: alerts), .init(service: visits),
                .init(service: retention), .init(service: control), .init(service: reloader), .init(service: systemd),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        config.maximumGracefulShutdownDuration = maximumShutdown
        try await ServiceGroup(configuration: config).run()
        do {
            try await database.checkpoint()
        } catch {
            logger.error("final checkpoint failed", metadata: ["error": "\(error)"])
        }
        logger.info("stopped")
    }
}
