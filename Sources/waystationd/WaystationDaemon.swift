import ArgumentParser
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import WaystationCore
import WaystationDaemon
import WaystationPolling

@main
struct WaystationDaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystationd",
        abstract: "The Waystation daemon: polls a rest station's appliances over Modbus and records them.",
        discussion: """
            Runs under systemd (Type=notify): SIGTERM stops gracefully, SIGHUP reloads the config
            (a bad config is refused and the running one stays). A config that cannot be used at
            start exits 78 (EX_CONFIG); other failures exit 1.
            """,
        version: WaystationVersion.string)

    /// sysexits.h's EX_CONFIG: the config cannot be used (at start and with --check-config).
    static let exitConfigError: Int32 = 78

    @Option(name: .long, help: "Station config (TOML).")
    var config: String = "/etc/waystation/station.toml"

    @Flag(
        name: .long,
        help: "Validate the config and profiles, print a summary, and exit 0, or 78 (EX_CONFIG) on an error.")
    var checkConfig = false

    @Flag(name: .long, help: "Read every device once, print a table of values, and exit.")
    var pollOnce = false

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error); overrides [log] level.")
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(configName: logLevel) == nil {
            throw ValidationError(
                "--log-level: expected trace, debug, info, notice, warning or error, got \"\(logLevel)\"")
        }
    }

    /// Not an async main: the work runs on the concurrency pool while the main thread waits here,
    /// so that it does not end in `dispatch_main()`'s unwind (`MainThreadWait`).
    func run() throws {
        let command = self
        try MainThreadWait.run { try await command.start() }
    }

    func start() async throws {
        signal(SIGPIPE, SIG_IGN)
        ResidentMemory.limitArenas()
        let station: StationConfig
        do {
            station = try StationConfigLoader.load(path: config)
        } catch {
            SystemIO.writeError("waystationd: config error\n\(error)\n")
            // EX_CONFIG: the unit's RestartPreventExitStatus= keeps systemd from restarting a
            // daemon that would only fail the same way again.
            throw ExitCode(Self.exitConfigError)
        }
        if checkConfig {
            print(ConfigSummary.render(station).text)
            return
        }
        // Before any thread reads the clock: every local time (stats days, exports, replies) uses it.
        LocalTime.use(zone: station.station.timeZone)
        let level = Logger.Level(configName: logLevel ?? station.logLevel) ?? .info
        let journal = WaystationLogHandler.stderrIsJournal
        let sink = journal ? JournalSink() : nil
        LoggingSystem.bootstrap { label in
            WaystationLogHandler(label: label, level: level, journal: journal, sink: sink)
        }
        if pollOnce {
            let ok = await PollOnce.run(station)
            throw ExitCode(ok ? 0 : 1)
        }
        let logger = Logger(label: "waystationd")
        do {
            let daemon = try await StationDaemon(
                configPath: config, config: station, notifier: SystemdNotifier(), logger: logger)
            logger.info(
                "starting",
                metadata: [
                    "station": "\(station.station.id)", "devices": "\(station.devices.count)",
                    "database": "\(station.storage.path)",
                ])
            try await daemon.run()
        } catch {
            logger.critical("waystationd failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
