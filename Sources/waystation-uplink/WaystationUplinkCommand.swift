import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationLinkClient
import WaystationUplink

/// `waystation-uplink --config STATION.toml`: the station's unprivileged outbound process.
@main
struct WaystationUplinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystation-uplink",
        abstract:
            "Delivers the station's webhook and Alertmanager notifications, and carries its district link.",
        discussion: """
            Reads the station config for its [[notify]] targets (their timeout and, for https, ca, \
            certificate and key) and [control] socket, and takes the notifications due from waystationd \
            over that socket (in the waystation-uplink group it has the uplink role). The daemon keeps \
            the outbox: order, retries and idempotency keys. No database, no Modbus.

            With [district] (an enrolled station) it also carries the link to the district hub over \
            HTTPS (the hub's CA as the only trust root, the station's token): riders' sealed ids, \
            reports and day counts go up; verdicts, categories, notices, services and balances come \
            down, every [district] sync_interval (default 60 s) and at once when a rider or a report \
            waits. Everything waits in the daemon while the hub is away.
            """,
        version: WaystationVersion.string,
        subcommands: [RedeemCommand.self])

    @Option(name: .long, help: "Station config (TOML).")
    var config: String = "/etc/waystation/station.toml"

    @Option(name: .long, help: "The daemon's control socket (default: [control] socket of the config).")
    var socket: String?

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Check the config and the targets' PEM files, then exit.")
    var checkConfig = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let uplinkConfig: UplinkConfig
        do {
            uplinkConfig = try UplinkConfig.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("waystation-uplink: config error\n\(error)\n".utf8))
            throw ExitCode(1)
        }
        var hub: HubClient?
        if let d = uplinkConfig.district {
            do {
                hub = try HubClient(baseURL: d.url, station: d.station, tokenFile: d.tokenFile, caFile: d.caFile)
            } catch {
                FileHandle.standardError.write(
                    Data("waystation-uplink: config error\n\(config): [district]: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
        if checkConfig {
            try? await hub?.shutdown()
            let link = uplinkConfig.district.map { " and the district link to \($0.url)" } ?? ""
            print("config OK: \(uplinkConfig.targets.count) http(s) target(s)\(link)")
            return
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "waystation-uplink")
        let uplink = Uplink(configPath: config, config: uplinkConfig, socketPath: socket, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: uplink)]
        if let d = uplinkConfig.district, let hub {
            let sync = DistrictSync(
                district: d, hub: hub, configPath: config,
                daemon: DaemonConnection(socketPath: socket ?? uplinkConfig.socket), logger: logger)
            services.append(.init(service: sync))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("waystation-uplink failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
