import ArgumentParser
import Foundation
import WaystationControl
import WaystationCore

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
            Status.self, Devices.self, Device.self, Read.self, Write.self, SelfTest.self, Maintenance.self,
            Reload.self, Watch.self, Audit.self, CheckIn.self, CheckOut.self, Visits.self, Stats.self, Alerts.self,
            Ack.self, Silence.self, EnableSlot.self,
            Version.self,
        ])
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Control socket (default: $WAYSTATION_SOCKET or /run/waystation/control.sock).")
    var socket: String?

    @Flag(name: .long, help: "Print the daemon's JSON reply instead of a table.")
    var json = false

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["WAYSTATION_SOCKET"] ?? "/run/waystation/control.sock"
    }

    /// Connects and calls; maps failures to the documented exit codes.
    func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
        do {
            let client = try VarlinkClient(path: socketPath)
            return try client.call("io.waystation.Station.\(method)", parameters)
        } catch let failure as VarlinkClient.Failure {
            throw Self.exit(failure)
        }
    }

    static func exit(_ failure: VarlinkClient.Failure) -> ExitCode {
        switch failure {
        case .cannotConnect(let path, let reason):
            Output.error("cannot reach waystationd at \(path): \(reason)")
            return ExitCode(2)
        case .reply(let error, let parameters):
            Output.error(Output.describe(error: error, parameters: parameters))
            return ExitCode(1)
        case .protocolError(let text):
            Output.error(text)
            return ExitCode(2)
        }
    }

    func emit(_ reply: JSON, human: () -> Void) {
        if json { say(reply.text) } else { human() }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The station at a glance: every device and its state.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let r = try global.call("GetStatus")
        global.emit(r) { Output.status(r) }
    }
}

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List devices.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let r = try global.call("ListDevices")
        global.emit(r) { say(Output.deviceTable(r["devices"]?.array ?? [])) }
    }
}

struct Device: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every point of a device with value, unit, quality and age.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var id: String

    func run() throws {
        let r = try global.call("GetDevice", ["id": .string(id)])
        global.emit(r) { Output.device(r["device"] ?? [:]) }
    }
}

struct Read: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a point live from the device now.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Point name.") var point: String

    func run() throws {
        let r = try global.call("ReadPoint", ["device": .string(device), "point": .string(point)])
        global.emit(r) { say(Output.pointLine(r["point"] ?? [:])) }
    }
}

struct Write: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a point (admin), and print the value read back.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "Point name.") var point: String
    @Argument(help: "Value in the point's unit (true/false or on/off for switches).") var value: String

    func run() throws {
        let v: JSON
        switch value.lowercased() {
        case "true", "on": v = .bool(true)
        case "false", "off": v = .bool(false)
        default:
            guard let n = Double(value) else {
                throw ValidationError("value \"\(value)\" is not a number, true/false or on/off")
            }
            v = .number(n)
        }
        let r = try global.call("WritePoint", ["device": .string(device), "point": .string(point), "value": v])
        global.emit(r) { say("written; read back: " + Output.pointLine(r["point"] ?? [:])) }
    }
}

struct SelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest", abstract: "Read every device now; check storage and the clock.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let r = try global.call("SelfTest")
        global.emit(r) { Output.selfTest(r) }
        if r["ok"]?.bool != true { throw ExitCode(1) }
    }
}

struct Maintenance: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put a device in maintenance (on) or back (off). Admin.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Device id.") var device: String
    @Argument(help: "on or off.") var state: String
    @Option(name: .long, help: "Why (shown in status and the audit log).") var reason: String?

    func validate() throws {
        guard ["on", "off"].contains(state) else { throw ValidationError("state must be on or off, got \"\(state)\"") }
    }

    func run() throws {
        let r = try global.call(
            "SetMaintenance",
            ["device": .string(device), "enabled": .bool(state == "on"), "reason": .optional(reason)])
        global.emit(r) { say(Output.deviceTable([r["device"] ?? [:]])) }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reload the config (admin); a bad one is refused.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let r = try global.call("Reload")
        global.emit(r) { say("config reloaded") }
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stream device changes as they happen (Ctrl-C to stop).")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let client: VarlinkClient
        do {
            client = try VarlinkClient(path: global.socketPath, timeout: 0)
            try client.send("io.waystation.Station.Watch", [:], more: true)
            while true {
                let reply = try VarlinkClient.unwrap(try client.receive())
                if global.json { say(reply.text) } else { Output.event(reply["event"] ?? [:]) }

            }
        } catch let failure as VarlinkClient.Failure {
            throw GlobalOptions.exit(failure)
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Who changed what, newest first.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "How many entries.") var limit = 20

    func run() throws {
        let r = try global.call("ListAudit", ["limit": .number(Double(limit))])
        global.emit(r) {
            var rows = [["AT", "USER", "ACTION", "TARGET", "OLD", "NEW"]]
            for e in r["entries"]?.array ?? [] {
                rows.append([
                    e["at"]?.string ?? "", "\(e["user"]?.string ?? "") (\(Int(e["uid"]?.number ?? 0)))",
                    e["action"]?.string ?? "", e["target"]?.string ?? "", e["old"]?.string ?? "-",
                    e["new"]?.string ?? "-",
                ])
            }
            say(TextTable.render(rows))
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Versions of this tool and of the daemon.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        say("waystationctl \(WaystationVersion.string)")
        do {
            let client = try VarlinkClient(path: global.socketPath)
            let info = try client.call("org.varlink.service.GetInfo")
            say("waystationd \(info["version"]?.string ?? "?")")
        } catch let failure as VarlinkClient.Failure {
            throw GlobalOptions.exit(failure)
        }
    }
}
