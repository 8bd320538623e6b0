import ArgumentParser
import Foundation
import Logging
import WaystationCore
import WaystationModbus
import WaystationPolling

@main
struct WaystationDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystationd",
        abstract: "The Waystation daemon: polls a rest station's appliances over Modbus.",
        version: WaystationVersion.string)

    @Option(name: .long, help: "Station config (TOML).")
    var config: String = "/etc/waystation/station.toml"

    @Flag(name: .long, help: "Validate the config and profiles, print a summary, and exit 0 or 1.")
    var checkConfig = false

    @Flag(name: .long, help: "Read every device once, print a table of values, and exit.")
    var pollOnce = false

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let station: StationConfig
        do {
            station = try StationConfigLoader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("waystationd: config error\n\(error)\n".utf8))
            throw ExitCode(1)
        }
        if checkConfig {
            print(ConfigSummary.render(station))
            return
        }
        if pollOnce {
            let ok = await PollOnce.run(station)
            throw ExitCode(ok ? 0 : 1)
        }
        FileHandle.standardError.write(Data("waystationd: the polling service arrives with the polling engine; use --poll-once\n".utf8))
        throw ExitCode(1)
    }
}
