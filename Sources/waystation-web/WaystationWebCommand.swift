import ArgumentParser
import Foundation
import Logging
import WaystationCore
import WaystationWeb

@main
struct WaystationWebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystation-web",
        abstract: "The station's unprivileged web face: the kiosk page at /, its API, and /metrics.",
        discussion: """
            Reads the station config for [web] listen (default 127.0.0.1:8480), [web] metrics_listen \
            and the control socket, and talks to waystationd over that socket (in the waystation-kiosk \
            group it may check riders in and file reports). It has no database access.
            """,
        version: WaystationVersion.string)

    @Option(name: .long, help: "Station config (TOML).")
    var config: String = "/etc/waystation/station.toml"

    @Option(name: .long, help: "The daemon's control socket (default: [control] socket of the config).")
    var socket: String?

    @Option(name: .long, help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let station: StationConfig
        do {
            station = try StationConfigLoader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("waystation-web: config error\n\(error)\n".utf8))
            throw ExitCode(1)
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "waystation-web")
        do {
            try await WebServer(config: station, socketPath: socket, logger: logger).run()
        } catch {
            logger.critical("waystation-web failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
