import ArgumentParser
import WaystationCore

@main
struct WaystationCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystationctl",
        abstract: "Inspects and controls a running waystationd through its control socket.",
        discussion: "The control interface arrives with the control-interface issue; for now only `version` works.",
        version: WaystationVersion.string)

    @Option(name: .long, help: "Control socket (or WAYSTATION_SOCKET).")
    var socket: String = "/run/waystation/control.sock"

    func run() throws {
        print("waystationctl \(WaystationVersion.string)")
    }
}
