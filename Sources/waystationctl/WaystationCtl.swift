import ArgumentParser
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationProtocol

@main
struct WaystationCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystationctl",
        abstract: "Inspect and control a running waystationd through its control socket.",
        discussion: """
            Exit codes: 0 ok, 1 the daemon answered with an error, 2 the daemon cannot be reached.
            Shell completion: waystationctl --generate-completion-script bash|zsh|fish
            """,
        version: WaystationVersion.string,
        subcommands: [
            StatusCommand.self, DevicesCommand.self, DeviceCommand.self, ReadCommand.self, WriteCommand.self,
            SelfTestCommand.self, MaintenanceCommand.self, ReloadCommand.self, WatchCommand.self, AuditCommand.self,
            CheckInCommand.self, CheckOutCommand.self, VisitsCommand.self, StatsCommand.self, AlertsCommand.self,
            AckCommand.self, SilenceCommand.self, SilencesCommand.self, EnableSlotCommand.self, ReportsCommand.self,
            ReportCommand.self,
            HistoryCommand.self, EventsCommand.self, DistrictCommand.self, RidersCommand.self, VersionCommand.self,
        ])

    /// `--socket PATH` and `--json` are accepted before the subcommand too (`waystationctl --socket
    /// /run/x.sock status`): they are moved behind it, where each subcommand reads them.
    static func main() {
        main(hoistingGlobals(Array(CommandLine.arguments.dropFirst())))
    }

    static func hoistingGlobals(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var globals: [String] = []
        while let first = rest.first {
            if first == "--socket", rest.count >= 2 {
                globals += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--socket=") || first == "--json" {
                globals.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        // Options go before a `--` that ends them.
        if let end = rest.firstIndex(of: "--") {
            return Array(rest[..<end]) + globals + Array(rest[end...])
        }
        return Array(rest) + globals
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Control socket (default: $WAYSTATION_SOCKET or /run/waystation/control.sock).")
    var socket: String?

    @Flag(name: .long, help: "Print the daemon's JSON reply instead of a table.")
    var json = false

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["WAYSTATION_SOCKET"] ?? "/run/waystation/control.sock"
    }

    /// Calls a method; prints the raw reply with --json, else hands the typed reply to `human`. Maps
    /// failures to the documented exit codes.
    func run<M: StationMethod>(_ method: M.Type, _ parameters: M.Parameters, human: (M.Reply) throws -> Void) throws {
        do {
            let client = try VarlinkClient(path: socketPath)
            let raw = try client.call(M.qualifiedName, try encode(parameters))
            if json {
                say(raw.text)
            } else {
                try human(try VarlinkClient.decode(M.Reply.self, raw))
            }
        } catch let failure as VarlinkClient.Failure {
            let code = Self.exit(failure)
            if let names = validNames(failure) { Output.error(names) }
            throw code
        }
    }

    /// For an unknown device or point: the names there are.
    func validNames(_ failure: VarlinkClient.Failure) -> String? {
        guard case .reply(let e) = failure, let error = StationError(e),
            let client = try? VarlinkClient(path: socketPath)
        else { return nil }
        switch error {
        case .deviceNotFound:
            guard let raw = try? client.call(ListDevices.qualifiedName),
                let list = try? VarlinkClient.decode(ListDevices.Reply.self, raw)
            else { return nil }
            return "devices: " + list.devices.map(\.id).joined(separator: ", ")
        case .pointNotFound(let device, _):
            guard let raw = try? client.call(GetDevice.qualifiedName, ["id": .string(device)]),
                let reply = try? VarlinkClient.decode(GetDevice.Reply.self, raw)
            else { return nil }
            return "points of \(device): " + reply.device.points.map(\.name).joined(separator: ", ")
        default:
            return nil
        }
    }

    func run<M: StationMethod>(_ method: M.Type, human: (M.Reply) throws -> Void) throws where M.Parameters == Empty {
        try run(method, Empty(), human: human)
    }

    private func encode(_ p: some Encodable) throws(VarlinkClient.Failure) -> JSON {
        do { return try JSON.from(p) } catch { throw .protocolError("cannot encode parameters: \(error)") }
    }

    static func exit(_ failure: VarlinkClient.Failure) -> ExitCode {
        switch failure {
        case .cannotConnect(let path, let reason):
            Output.error(
                "cannot reach waystationd at \(path): \(reason)" + Output.groupHint(socket: path, reason: reason))
            return ExitCode(2)
        case .reply(let error):
            Output.error(StationError(error).map(Output.describe) ?? Output.describe(error))
            return ExitCode(1)
        case .protocolError(let text):
            Output.error(text)
            return ExitCode(2)
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "The station at a glance: every device and its state.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(GetStatus.self) { Output.status($0) }
    }
}

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "List devices.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(ListDevices.self) { say(Output.deviceTable($0.devices)) }
    }
}

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Every point of a device with value, unit, quality and age.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var id: String

    func run() throws {
        try global.run(GetDevice.self, .init(id: id)) { Output.device($0.device) }
    }
}

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read a point live from the device now.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Point name.") var point: String

    func run() throws {
        try global.run(ReadPoint.self, .init(device: device, point: point)) { say(Output.pointLine($0.point)) }
    }
}

struct WriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write a point (admin), and print the value read back.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Point name.") var point: String
    @Argument(help: "Value in the point's unit (true/false or on/off for switches).") var value: String

    func run() throws {
        let number: Double
        switch value.lowercased() {
        case "true", "on": number = 1
        case "false", "off": number = 0
        default:
            guard let n = Double(value), n.isFinite else {
                throw ValidationError("value \"\(value)\" is not a finite number, true/false or on/off")
            }
            number = n
        }
        try global.run(WritePoint.self, .init(device: device, point: point, value: number)) {
            say("written; read back: " + Output.pointLine($0.point))
        }
    }
}

struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest", abstract: "Read every device now; check storage and the clock.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        var ok = true
        try global.run(WaystationProtocol.SelfTest.self) { reply in
            Output.selfTest(reply)
            ok = reply.ok
        }
        if !ok { throw ExitCode(1) }
    }
}

struct MaintenanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance", abstract: "Put a device in maintenance (on) or back (off). Admin.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "on or off.") var state: String
    @Option(name: .long, help: "Why (shown in status and the audit log).") var reason: String?

    func validate() throws {
        guard ["on", "off"].contains(state) else { throw ValidationError("state must be on or off, got \"\(state)\"") }
    }

    func run() throws {
        try global.run(SetMaintenance.self, .init(device: device, enabled: state == "on", reason: reason)) {
            say(Output.deviceTable([$0.device]))
        }
    }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Reload the config (admin); a bad one is refused.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(Reload.self) { _ in say("config reloaded") }
    }
}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Stream changes as they happen (Ctrl-C to stop).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        do {
            let client = try VarlinkClient(path: global.socketPath, timeout: 0)
            try client.send(Watch.qualifiedName, [:], more: true)
            while true {
                let raw = try VarlinkClient.unwrap(try client.receive())
                if global.json {
                    say(raw.text)
                } else {
                    Output.event(try VarlinkClient.decode(Watch.Reply.self, raw).event)
                }
            }
        } catch {
            throw GlobalOptions.exit(error)
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Who changed what, newest first.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "How many entries.") var limit = 20

    func run() throws {
        try global.run(ListAudit.self, .init(limit: limit)) { reply in
            var rows = [["AT", "USER", "ACTION", "TARGET", "OLD", "NEW"]]
            for e in reply.entries {
                rows.append([
                    e.at, "\(e.user) (\(e.uid))".terminalSafe, e.action, e.target.terminalSafe,
                    (e.old ?? "-").terminalSafe, (e.new ?? "-").terminalSafe,
                ])
            }
            say(TextTable.render(rows))
        }
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Versions of this tool and of the daemon.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        say("waystationctl \(WaystationVersion.string)")
        do {
            let client = try VarlinkClient(path: global.socketPath)
            let info = try VarlinkClient.decode(
                VarlinkServiceInterface.Info.self, try client.call("org.varlink.service.GetInfo"))
            say("waystationd \(info.version)")
        } catch {
            throw GlobalOptions.exit(error)
        }
    }
}
