import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationSim

/// `transport = "rtu-over-tcp"`: the simulator serves RTU on a pty, socat puts that pty on a TCP
/// port (a transparent Ethernet-to-serial gateway), the real daemon polls it over TCP.
@Suite("RTU over TCP", .serialized)
struct RTUOverTCPTests {
    @Test("a device behind an RTU-over-TCP gateway is read and written, and reconnected after the gateway drops")
    func gateway() async throws {
        let port = try LoopbackPort.free()
        let station = try TestStation(
            tcpUnits: [],
            extraConfig: """
                [[bus]]
                name = "gw"
                transport = "rtu-over-tcp"
                host = "127.0.0.1"
                port = \(port)
                timeout = "1s"
                reconnect_min = "50ms"
                reconnect_max = "200ms"
                [[device]]
                id = "g1"
                profile = "testdev"
                bus = "gw"
                unit = 5
                interval = "1s"

                """)
        let dir = station.dir
        let pty = try PtyPair(daemonEnd: dir + "/tty-gw", simulatorEnd: dir + "/tty-sim")
        defer { pty.stop() }
        // The RTU side: a simulator of the gateway's bus alone, on the pty.
        var config = station.config
        config.buses = config.buses.filter { $0.name == "gw" }
        config.devices = config.devices.filter { $0.bus == "gw" }
        let sim = try Simulator(config: config, serialOverrides: ["gw": dir + "/tty-sim"], logger: testLogger)
        try sim.start()
        defer { sim.stop() }
        try sim.set(device: "g1", point: "u16", value: 4321)
        try sim.set(device: "g1", point: "f32", value: 123.456)
        func gatewayUp() throws -> Spawned {
            try Spawned(
                "/usr/bin/socat", ["TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr", "FILE:\(dir)/tty-gw,raw,echo=0"])
        }
        var socat = try gatewayUp()
        defer { socat.signal(SIGTERM) }

        let check = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", station.configPath, "--check-config"])
        #expect(check.0 == 0 && check.1.contains("rtu-over-tcp 127.0.0.1:\(port)"), "\(check.1)")

        let run = try await StationRun(station, waitForOnline: ["g1"])
        func point(_ name: String) throws -> JSON? {
            try run.call("GetDevice", ["id": "g1"])["device"]?["points"]?.array?.first { $0["name"]?.string == name }
        }
        #expect(try point("u16")?["value"]?.number == 4321)
        #expect(abs((try point("f32")?["value"]?.number ?? 0) - 123.456) < 1e-3)
        // Two pty hops and socat on a loaded machine: a request may time out now and then, as on a
        // real line; the write is retried like a technician would.
        _ = try await eventually { try run.call("WritePoint", ["device": "g1", "point": "h0", "value": 77]) }
        #expect(try sim.value(device: "g1", point: "h0") == 77)

        // The gateway goes away: the device goes offline; it comes back, and so does the device.
        socat.signal(SIGTERM)
        _ = socat.wait(timeout: .seconds(5))
        try await run.daemon.waitFor("g1 not online", within: .seconds(30)) {
            try run.call("GetDevice", ["id": "g1"])["device"]?["device"]?["state"]?.string != "online"
        }
        socat = try gatewayUp()
        try sim.set(device: "g1", point: "u16", value: 1234)
        try await run.daemon.waitFor("g1 online again with the new value", within: .seconds(30)) {
            try run.call("GetDevice", ["id": "g1"])["device"]?["device"]?["state"]?.string == "online"
                && (try point("u16")?["value"]?.number) == 1234
        }
        // Without a host the bus is refused, by name.
        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "host = \"127.0.0.1\"\nport = \(port)", with: "port = \(port)")
            .write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        let refused = try await Spawned.run(
            DaemonProcess.binDir + "/waystationd", ["--config", dir + "/bad.toml", "--check-config"])
        #expect(refused.0 != 0 && refused.1.contains("host"), "\(refused.1)")
    }
}
