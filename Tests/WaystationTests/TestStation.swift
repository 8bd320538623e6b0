import Foundation
import TestSupport
import Logging
import WaystationDaemon
import WaystationStorage
import Testing
import WaystationCore
import WaystationModbus
import WaystationSim

/// A throwaway station for tests: a temp dir with a profile and a config, a real simulator serving
/// it on a free loopback port and, when asked, on a socat pty pair for RTU.
final class TestStation: @unchecked Sendable {
    // @unchecked: set up once in init, then only read.
    let dir: String
    let port: Int
    let configPath: String
    let config: StationConfig
    let simulator: Simulator
    private var socat: PtyPair?

    static let testProfile = """
        [profile]
        name = "testdev"
        kind = "other"
        word_order = "big"
        max_registers_per_read = 125

        [[point]]
        name = "c0"
        table = "coil"
        address = 0
        type = "bool"
        writable = true
        [[point]]
        name = "c1"
        table = "coil"
        address = 1
        type = "bool"
        writable = true
        [[point]]
        name = "d0"
        table = "discrete"
        address = 0
        type = "bool"
        [[point]]
        name = "d1"
        table = "discrete"
        address = 1
        type = "bool"
        [[point]]
        name = "u16"
        table = "input"
        address = 0
        type = "uint16"
        [[point]]
        name = "i16"
        table = "input"
        address = 1
        type = "int16"
        scale = 0.1
        [[point]]
        name = "u32"
        table = "input"
        address = 2
        type = "uint32"
        [[point]]
        name = "i32"
        table = "input"
        address = 4
        type = "int32"
        [[point]]
        name = "f32"
        table = "input"
        address = 6
        type = "float32"
        [[point]]
        name = "after_hole"
        table = "input"
        address = 12
        type = "uint16"
        [[point]]
        name = "h0"
        table = "holding"
        address = 0
        type = "uint16"
        writable = true
        min = 0.0
        max = 65535.0
        [[point]]
        name = "hf"
        table = "holding"
        address = 1
        type = "float32"
        writable = true
        min = -1000.0
        max = 1000.0
        [[point]]
        name = "readonly"
        table = "holding"
        address = 3
        type = "uint16"
        """

    /// - Parameter rtuUnits: unit ids to put on an RTU bus (a pty pair) besides the TCP bus.
    init(
        tcpUnits: [Int] = [1], rtuUnits: [Int] = [], extraProfiles: [String: String] = [:],
        extraConfig: String = "", timeout: String = "300ms", control: String = "", flushInterval: String = "0ms"
    ) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/devices", withIntermediateDirectories: true)
        try Self.testProfile.write(toFile: dir + "/devices/testdev.toml", atomically: true, encoding: .utf8)
        for (name, text) in extraProfiles {
            try text.write(toFile: dir + "/devices/\(name).toml", atomically: true, encoding: .utf8)
        }
        port = try Self.freePort()
        var text = """
            [station]
            id = "test"
            name = "Test station"
            capacity = 4
            [storage]
            path = "station.db"
            flush_interval = "\(flushInterval)"
            # Test machines rarely run NTP; the retention tests that need the kernel's word set it.
            require_synchronised_clock = false
            [control]
            socket = "control.sock"
            \(control)
            [profiles]
            paths = ["devices"]
            [[bus]]
            name = "tcp"
            transport = "tcp"
            host = "127.0.0.1"
            port = \(port)
            timeout = "\(timeout)"
            reconnect_min = "50ms"
            reconnect_max = "200ms"

            """
        if !rtuUnits.isEmpty {
            text += """
                [[bus]]
                name = "rtu"
                transport = "rtu"
                serial = "tty-daemon"
                baud = 38400
                timeout = "\(timeout)"

                """
        }
        for unit in tcpUnits {
            text +=
                "[[device]]\nid = \"t\(unit)\"\nprofile = \"testdev\"\nbus = \"tcp\"\nunit = \(unit)\ninterval = \"1s\"\n"
        }
        for unit in rtuUnits {
            text +=
                "[[device]]\nid = \"r\(unit)\"\nprofile = \"testdev\"\nbus = \"rtu\"\nunit = \(unit)\ninterval = \"1s\"\n"
        }
        text += extraConfig
        configPath = dir + "/station.toml"
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        config = try StationConfigLoader.load(path: configPath, extraProfilePaths: [])
        var overrides: [String: String] = [:]
        if !rtuUnits.isEmpty {
            socat = try PtyPair(daemonEnd: dir + "/tty-daemon", simulatorEnd: dir + "/tty-sim")
            overrides["rtu"] = dir + "/tty-sim"
        }
        var logger = Logger(label: "test.sim")
        logger.logLevel = .warning
        simulator = try Simulator(config: config, serialOverrides: overrides, logger: logger)
        try simulator.start()
        // Known values to read back.
        for device in config.devices where device.profile.name == "testdev" {
            try simulator.set(device: device.id, point: "c1", value: 1)
            try simulator.set(device: device.id, point: "d0", value: 1)
            try simulator.set(device: device.id, point: "u16", value: Double(1000 + device.unit))
            try simulator.set(device: device.id, point: "i16", value: -12.5)
            try simulator.set(device: device.id, point: "u32", value: 305_419_896)
            try simulator.set(device: device.id, point: "i32", value: -100_000)
            try simulator.set(device: device.id, point: "f32", value: 123.456)
            try simulator.set(device: device.id, point: "after_hole", value: 77)
            try simulator.set(device: device.id, point: "h0", value: 42)
            try simulator.set(device: device.id, point: "readonly", value: 9)
        }
    }

    deinit {
        simulator.stop()
        socat?.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    func bus(_ name: String) throws -> StationConfig.Bus {
        try #require(config.bus(named: name))
    }

    func device(_ id: String) throws -> StationConfig.Device {
        try #require(config.device(id: id))
    }

    static func freePort() throws -> Int { try LoopbackPort.free() }
}

/// A logger for clients and engines made directly by tests.
let testLogger: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .warning
    return l
}()

/// A station database opened the way the daemon opens it (every domain's migrations).
func openDatabase(_ path: String) throws -> StationDatabase {
    try StationDatabase(path: path, migrations: StationDaemon.migrations, logger: testLogger)
}

/// A station with the real daemon running on it, and varlink helpers (the daemon, the simulator and
/// the socket are real; the test calls the socket as root, i.e. admin).
final class StationRun: @unchecked Sendable {
    // @unchecked: set in init; `daemon` replaced only by restart() from the test's own task.
    let station: TestStation
    var daemon: DaemonProcess
    var socket: String { station.dir + "/control.sock" }
    static let iface = "io.waystation.Station"

    init(_ station: TestStation, environment: [String: String] = [:], waitForOnline: [String] = []) async throws {
        self.station = station
        daemon = try DaemonProcess(config: station.configPath, dir: station.dir, environment: environment)
        let d = daemon
        try await d.waitFor("READY=1") { d.count("READY=1") >= 1 }
        for id in waitForOnline {
            try await d.waitFor("\(id) online") {
                (try? self.call("GetDevice", ["id": .string(id)]))?["device"]?["device"]?["state"]?.string == "online"
            }
        }
    }

    func call(_ method: String, _ parameters: JSON = [:]) throws -> JSON {
        try VarlinkClient(path: socket).call("\(Self.iface).\(method)", parameters)
    }

    /// The varlink error (name, parameters) of a failing call; nil when it succeeds.
    func error(_ method: String, _ parameters: JSON = [:]) -> (String, JSON)? {
        do {
            _ = try call(method, parameters)
            return nil
        } catch VarlinkClient.Failure.reply(let e) {
            return (e.name, e.parameters)
        } catch {
            return ("\(error)", [:])
        }
    }

    /// Waits until the daemon has polled `device` `cycles` more times: the daemon's own progress.
    func waitForPolls(_ device: String, cycles: Int, requestsPerCycle: Int = 2) async throws {
        let sim = station.simulator
        let start = try sim.servedCount(device: device)
        try await daemon.waitFor("\(cycles) polls of \(device)") {
            try sim.servedCount(device: device) >= start + cycles * requestsPerCycle
        }
    }

    /// Stops the daemon with SIGTERM (unless it is gone already, e.g. killed) and starts it again.
    func restart() async throws {
        if daemon.process.isRunning {
            daemon.signal(SIGTERM)
            _ = try await daemon.waitForExit()
        }
        daemon = try DaemonProcess(config: station.configPath, dir: station.dir)
        let d = daemon
        try await d.waitFor("READY=1 after restart") { d.count("READY=1") >= 1 }
    }
}

/// The shipped profile text, for stations that use real appliances.
func shippedProfile(_ name: String) throws -> String {
    try String(contentsOfFile: BuildPaths.repo + "/devices/\(name).toml", encoding: .utf8)
}
