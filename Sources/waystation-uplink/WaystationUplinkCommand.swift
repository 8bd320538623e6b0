import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationUplink

/// `waystation-uplink --config STATION.toml`: the station's unprivileged outbound process.
@main
struct WaystationUplinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystation-uplink",
        abstract: "Delivers the station's webhook and Alertmanager notifications over http or https.",
        discussion: """
            Reads the station config for its [[notify]] targets (their timeout and, for https, ca, \
            certificate and key) and [control] socket, and takes the notifications due from waystationd \
            over that socket (in the waystation-uplink group it has the uplink role). The daemon keeps \
            the outbox: order, retries and idempotency keys. No database, no Modbus.
            """,
        version: WaystationVersion.string)

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
        if checkConfig {
            print("config OK: \(uplinkConfig.targets.count) http(s) target(s)")
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
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: uplink)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("waystation-uplink failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
