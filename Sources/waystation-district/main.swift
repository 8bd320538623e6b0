import ArgumentParser
import Foundation
import Logging

// `--config FILE` may come before the subcommand (`waystation-district --config hub.toml stations
// list`): moved to the end, where every subcommand's own `--config` option reads it.
var arguments = Array(CommandLine.arguments.dropFirst())
if let i = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }),
    i < (arguments.firstIndex(of: "--") ?? arguments.count)
{
    let takesValue = arguments[i] == "--config" && i + 1 < arguments.count
    let moved = Array(arguments[i..<(takesValue ? i + 2 : i + 1)])
    arguments.removeSubrange(i..<(takesValue ? i + 2 : i + 1))
    arguments.append(contentsOf: moved)
}
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel =
        ProcessInfo.processInfo.environment["WAYSTATION_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
    return handler
}
/// Parses and runs the command, awaiting an asynchronous one.
func runCommand(_ arguments: [String]) async {
    do {
        var command = try await District.asyncParseAsRoot(arguments)
        if var asynchronous = command as? any AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            try command.run()
        }
    } catch {
        District.exit(withError: error)
    }
}
await runCommand(arguments)
