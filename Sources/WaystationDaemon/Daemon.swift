import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import WaystationAlerts
import WaystationCore
import WaystationPolling
import WaystationVisits

/// The daemon as one `Service`: opens storage, runs the polling engine, talks to systemd, reloads on
/// SIGHUP (a bad config is refused and the running one stays), and on graceful shutdown stops
/// polling, flushes storage and returns.
public actor Daemon: Service {
    public let configPath: String
    private let notifier: SystemdNotifier
    private let logger: Logger
    private var engine: PollingEngine?
    private var store: Store?
    private var visits: VisitBook?
    private var alerts: AlertService?
    private var notifierTask: Task<Void, Never>?
    private var config: StationConfig?
    /// Hooks run once storage and the engine are up (the control server binds there).
    private var extensions: [any DaemonExtension] = []
    private var reloads = 0

    public init(
        configPath: String, config: StationConfig, notifier: SystemdNotifier = SystemdNotifier(), logger: Logger
    ) {
        self.configPath = configPath
        self.config = config
        self.notifier = notifier
        self.logger = logger
    }

    /// Adds a part that starts with the daemon (e.g. the control socket).
    public func add(_ ext: any DaemonExtension) {
        extensions.append(ext)
    }

    public var currentConfig: StationConfig? { config }
    public var currentEngine: PollingEngine? { engine }
    public var currentVisits: VisitBook? { visits }
    public var currentAlerts: AlertService? { alerts }

    public func run() async throws {
        guard let config else { return }
        let store = try Store(path: config.storage.path)
        self.store = store
        let engine = try await PollingEngine(config: config, store: store, logger: logger)
        self.engine = engine
        let visits = try VisitBook(store: store, config: config, logger: logger)
        self.visits = visits
        let alerts = AlertService(config: config, store: store, engine: engine, logger: logger)
        try await alerts.restore()
        self.alerts = alerts
        await engine.monitor.setAfterIngest { device in await alerts.afterPoll(device: device) }
        startNotifier(config)
        await engine.start()
        for ext in extensions { try await ext.start(daemon: self) }
        notifier.notify("READY=1\nSTATUS=\(await statusLine())")
        logger.info(
            "waystationd started",
            metadata: [
                "station": "\(config.station.id)", "devices": "\(config.devices.count)",
                "database": "\(config.storage.path)",
            ])

        await withDiscardingTaskGroup { group in
            group.addTask { await self.signalLoop() }
            group.addTask { await self.watchdogLoop() }
            group.addTask { await self.statusLoop() }
            group.addTask { await visits.run() }
            group.addTask { await alerts.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }

        notifier.notify("STOPPING=1")
        logger.info("stopping: finishing requests, flushing storage")
        for ext in extensions { await ext.stop() }
        notifierTask?.cancel()
        await engine.stop()
        do {
            try await store.checkpoint()
        } catch {
            logger.error("final checkpoint failed", metadata: ["error": "\(error)"])
        }
        logger.info("stopped")
    }

    /// (Re)starts notification delivery for the configured targets; undelivered rows stay queued.
    private func startNotifier(_ config: StationConfig) {
        notifierTask?.cancel()
        guard let store, let alerts else { return }
        let notifier = Notifier(store: store, config: config, alerts: alerts, logger: logger)
        notifierTask = Task { await notifier.run() }
    }

    private func signalLoop() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals {
            _ = await reload()
        }
    }

    /// Reloads the config file. Returns nil on success, else why it was refused.
    @discardableResult
    public func reload() async -> String? {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicUsec())")
        defer { reloads += 1 }
        do {
            let new = try StationConfigLoader.load(path: configPath)
            config = new
            await engine?.reload(new)
            await visits?.apply(new)
            await alerts?.apply(new)
            startNotifier(new)
            notifier.notify("READY=1\nSTATUS=\(await statusLine())")
            return nil
        } catch {
            let why = error.description
            logger.error(
                "config reload refused; the running config stays",
                metadata: ["file": "\(configPath)", "errors": "\(why)"])
            notifier.notify(
                "READY=1\nSTATUS=reload refused: \(why.split(separator: "\n").first ?? "") — \(await statusLine())")
            return why
        }
    }

    /// Pings the systemd watchdog at half its timeout, only while polling progresses and the
    /// database answers: a hung daemon is restarted by systemd.
    private func watchdogLoop() async {
        guard let interval = notifier.watchdogInterval else { return }
        let window = max(interval * 2, .seconds(15))
        while !Task.isCancelled {
            if let engine, let store, await engine.isMakingProgress(within: window), await store.ping() {
                notifier.notify("WATCHDOG=1")
            } else {
                logger.warning("watchdog ping withheld: polling stalled or database not answering")
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    private func statusLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(10)) } catch { return }
            notifier.notify("STATUS=\(await statusLine())")
        }
    }

    /// One line for `systemctl status`.
    public func statusLine() async -> String {
        guard let engine else { return "starting" }
        let statuses = await engine.monitor.statuses()
        let online = statuses.filter { $0.health.state == .online }.count
        let offline = statuses.filter { $0.health.state == .offline }.map(\.id)
        var line = "\(online)/\(statuses.count) devices online"
        if let alerts {
            let firing = await alerts.activeCount
            if firing > 0 { line += "; \(firing) alert(s) firing" }
        }
        if !offline.isEmpty { line += "; offline: \(offline.joined(separator: ", "))" }
        return line
    }
}

/// A part that starts after storage and polling are up and stops before them.
public protocol DaemonExtension: Sendable {
    func start(daemon: Daemon) async throws
    func stop() async
}
