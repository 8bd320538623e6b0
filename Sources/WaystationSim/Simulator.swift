import CModbus
import Foundation
import Logging
import WaystationCore
import WaystationModbus

/// A simulated station: serves every device of a station config over Modbus TCP and RTU with
/// libmodbus in server mode, moves their values with simple physics, and takes faults on demand.
public final class Simulator: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `lock` (servers, physics and commands share it).
    let lock = NSLock()
    let config: StationConfig
    let logger: Logger
    var devices: [String: SimDevice] = [:]
    private var servers: [String: any BusServer] = [:]
    private var physicsThread: Thread?
    private var running = false
    /// Seconds of simulated time per real second (tests speed physics up).
    public let timeScale: Double

    /// - Parameters:
    ///   - serialOverrides: bus name → the serial path the simulator opens for that RTU bus (the
    ///     other end of a pty pair from the one in the config).
    public init(
        config: StationConfig, serialOverrides: [String: String] = [:], timeScale: Double = 1,
        logger: Logger = Logger(label: "waystation.sim")
    ) throws {
        self.config = config
        self.logger = logger
        self.timeScale = timeScale
        for device in config.devices {
            let sim = try SimDevice(device: device)
            SimPhysics.initialise(sim)
            SimPhysics.step(sim, dt: 0.1)
            devices[device.id] = sim
        }
        for bus in config.buses {
            let units = Dictionary(
                config.devices(onBus: bus.name).map { ($0.unit, $0.id) }, uniquingKeysWith: { a, _ in a })
            switch bus.transport {
            case .tcp(let host, let port):
                servers[bus.name] = TCPBusServer(sim: self, bus: bus.name, host: host, port: port, units: units)
            case .rtu(let serial, let baud, let parity, let dataBits, let stopBits, _):
                servers[bus.name] = RTUBusServer(
                    sim: self, bus: bus.name, path: serialOverrides[bus.name] ?? serial, baud: baud,
                    parity: parity, dataBits: dataBits, stopBits: stopBits, units: units)
            case .rtuOverTCP:
                // Served as RTU on a pty (`serialOverrides`); a gateway (socat) puts it on TCP.
                guard let path = serialOverrides[bus.name] else {
                    logger.warning("rtu-over-tcp bus not served: give it a pty", metadata: ["bus": "\(bus.name)"])
                    continue
                }
                servers[bus.name] = RTUBusServer(
                    sim: self, bus: bus.name, path: path, baud: 9600, parity: .none, dataBits: 8, stopBits: 1,
                    units: units)
            }
        }
    }

    deinit { stop() }

    /// Opens every endpoint and starts the physics; throws if an endpoint cannot be opened.
    public func start() throws {
        // A master that hangs up mid-reply must not kill the process hosting the simulator.
        signal(SIGPIPE, SIG_IGN)
        for server in servers.values { try server.open() }
        for server in servers.values { server.start() }
        lock.lock()
        running = true
        lock.unlock()
        let thread = Thread { [weak self] in self?.physicsLoop() }
        thread.name = "sim-physics"
        physicsThread = thread
        thread.start()
    }

    /// Stops serving and closes every endpoint.
    public func stop() {
        lock.lock()
        running = false
        lock.unlock()
        for server in servers.values { server.shutdown() }
    }

    private func physicsLoop() {
        var last = ContinuousClock.now
        while true {
            Thread.sleep(forTimeInterval: 0.1)
            let now = ContinuousClock.now
            let dt = (now - last).seconds * timeScale
            last = now
            lock.lock()
            if !running {
                lock.unlock()
                return
            }
            for device in devices.values { SimPhysics.step(device, dt: dt) }
            lock.unlock()
        }
    }

    // MARK: Control

    func withDevice<T>(_ id: String, _ body: (SimDevice) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let device = devices[id] else {
            throw SimulatorError("no device \"\(id)\"; devices: \(devices.keys.sorted().joined(separator: ", "))")
        }
        return try body(device)
    }

    /// Puts a device into a fault, or back to normal with nil.
    public func setFault(device: String, _ fault: SimFault?) throws {
        try withDevice(device) { $0.fault = fault }
        logger.info("fault", metadata: ["device": "\(device)", "fault": "\(fault.map(\.description) ?? "none")"])
    }

    /// Sets a point's value (physics carries on from it).
    public func set(device: String, point: String, value: Double, hold: Bool = false) throws {
        try withDevice(device) { d in
            guard d.point(point) != nil else { throw SimulatorError("device \"\(device)\" has no point \"\(point)\"") }
            if hold { d.held[point] = value } else { d.held[point] = nil }
            d.set(point, value)
        }
    }

    /// Lets physics move a held point again.
    public func release(device: String, point: String) throws {
        try withDevice(device) { d in d.held[point] = nil }
    }

    /// The true value of a point now.
    public func value(device: String, point: String) throws -> Double {
        try withDevice(device) { d in
            guard d.point(point) != nil else { throw SimulatorError("device \"\(device)\" has no point \"\(point)\"") }
            return d.get(point)
        }
    }

    /// Requests a device answered normally.
    public func servedCount(device: String) throws -> Int {
        try withDevice(device) { $0.served }
    }

    /// The device's served count just after each write a master made to it (the latest 100).
    public func servedAtWrites(device: String) throws -> [Int] {
        try withDevice(device) { $0.servedAtWrites }
    }

    /// Drops every open connection of a TCP bus (its clients see a reset).
    public func dropConnections(bus: String) throws {
        guard let server = servers[bus] as? TCPBusServer else { throw SimulatorError("no TCP bus \"\(bus)\"") }
        server.dropClients()
    }

    /// Takes a TCP endpoint down (closed port) or brings it back up.
    public func setEndpoint(bus: String, up: Bool) throws {
        guard let server = servers[bus] as? TCPBusServer else { throw SimulatorError("no TCP bus \"\(bus)\"") }
        if up { try server.open() } else { server.closeEndpoint() }
    }

    /// Frames an RTU bus received that were garbled or for nobody (for tests of the line).
    public func rtuStats(bus: String) -> (frames: Int, badFrames: Int)? {
        guard let server = servers[bus] as? RTUBusServer else { return nil }
        return server.stats
    }

    /// A one-line status per device.
    public func statusLines() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return devices.values.sorted { $0.id < $1.id }.map { d in
            let fault = d.fault.map { " fault=\($0)" } ?? ""
            let held = d.held.isEmpty ? "" : " held=\(d.held.keys.sorted().joined(separator: ","))"
            return
                "\(d.id) bus=\(d.bus) unit=\(d.unit) kind=\(d.profile.kind.rawValue) served=\(d.served)\(fault)\(held)"
        }
    }
}
