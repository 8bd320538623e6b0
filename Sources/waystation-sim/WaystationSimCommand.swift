import ArgumentParser
import Foundation
import Logging
import WaystationCore
import WaystationSim

@main
struct WaystationSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystation-sim",
        abstract: "Simulates a rest station's appliances over Modbus TCP and RTU.",
        discussion: """
            Serves every [[device]] of the station config on its [[bus]]: TCP buses listen on host:port
            with all their unit ids behind one endpoint; RTU buses are served on a serial port. With
            --pty, each RTU bus gets a pseudo-terminal pair (via socat): the daemon opens the path in
            the config, the simulator the other end.

            Faults and values are changed while it runs by commands on stdin or on --control-socket
            (one per line; `help` lists them), e.g.:
              echo "hold fridge cabinet_temp 15" | socat - UNIX-CONNECT:state/sim.sock
            """)

    @Option(name: .long, help: "Station config (TOML).")
    var config: String

    @Flag(name: .long, help: "Create a pty pair for each RTU bus with socat (the config's path is the daemon's end).")
    var pty = false

    @Option(name: .long, help: "Unix socket that takes simulator commands.")
    var controlSocket: String?

    @Option(name: .long, help: "Simulated seconds per real second.")
    var timeScale: Double = 1

    @Flag(name: .long, help: "Do not read commands from stdin.")
    var noStdin = false

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        signal(SIGPIPE, SIG_IGN)
        let station: StationConfig
        do {
            station = try StationConfigLoader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        var overrides: [String: String] = [:]
        var ptys: [PtyPair] = []
        if pty {
            for bus in station.buses {
                guard case .rtu(let serial, _, _, _, _, _) = bus.transport else { continue }
                let simEnd = serial + ".sim"
                ptys.append(try PtyPair(daemonEnd: serial, simulatorEnd: simEnd))
                overrides[bus.name] = simEnd
            }
        }
        let sim = try Simulator(config: station, serialOverrides: overrides, timeScale: timeScale)
        try sim.start()
        let devices = station.devices.map { "\($0.id)@\($0.bus)/\($0.unit)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("waystation-sim: serving \(devices)\n".utf8))
        if let controlSocket {
            try CommandSocket.serve(path: controlSocket, simulator: sim)
        }
        let stop = DispatchSemaphore(value: 0)
        var signalSources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            source.setEventHandler { stop.signal() }
            source.resume()
            signalSources.append(source)
        }
        if !noStdin {
            Thread.detachNewThread {
                while let line = readLine() {
                    let answer = sim.execute(line)
                    if !answer.isEmpty { FileHandle.standardOutput.write(Data((answer + "\n").utf8)) }
                }
            }
        }
        let socatProcesses = ptys
        DispatchQueue.global().async {
            stop.wait()
            // socat first: it must not outlive the simulator, whatever stopping the servers takes.
            for p in socatProcesses { p.stop() }
            sim.stop()
            if let controlSocket { unlink(controlSocket) }
            Foundation.exit(0)
        }
        withExtendedLifetime(signalSources) { dispatchMain() }
    }
}
