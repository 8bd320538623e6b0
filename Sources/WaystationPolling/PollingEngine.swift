import Logging
import ServiceLifecycle
import WaystationCore
import WaystationModbus

/// Runs a station's polling: one `BusPoller` per bus (each with its own `ModbusClient` and thread),
/// all feeding one `StationMonitor`. Also the way to the devices for anyone else: live reads and
/// writes for the control socket, relay switching for the interlocks.
public actor PollingEngine: Service, Reloadable, RelayControl {
    public private(set) var config: StationConfig
    public nonisolated let history: HistoryStore
    public nonisolated let monitor: StationMonitor
    private var clients: [String: ModbusClient] = [:]
    private var pollers: [String: BusPoller] = [:]
    private var splits: [String: RequestPlanner.Barriers]
    /// Poll results from the bus threads to the monitor.
    private let pipe: ResultPipe
    /// The task taking results in; nil while stopped.
    private var consumer: Task<Void, Never>?
    let logger: Logger

    /// - Parameter station: the station's thread, where the monitor runs and results are taken in.
    public init(config: StationConfig, history: HistoryStore, logger: Logger, station: ThreadExecutor) async throws {
        self.config = config
        self.history = history
        self.logger = logger
        monitor = StationMonitor(config: config, store: history, logger: logger, station: station)
        pipe = ResultPipe(logger: logger)
        splits = try await history.loadSplits()
        for bus in config.buses { build(bus) }
    }

    private func build(_ bus: StationConfig.Bus) {
        clients[bus.name] = ModbusClient(bus: bus, logger: logger)
        pollers[bus.name] = BusPoller(
            bus: bus.name, devices: config.devices(onBus: bus.name), barriers: splits,
            planner: RequestPlanner(maxGap: config.polling.mergeGap), maxBackoff: config.polling.maxBackoff,
            logger: logger, pipe: pipe)
    }

    /// Starts polling on every bus, and the task that takes the results in.
    public func start() async {
        if consumer == nil {
            pipe.open()
            // On the station's thread throughout: a result resumes the loop there, not on the pool.
            consumer = Task(executorPreference: monitor.station) { [monitor, pipe] in
                await monitor.consume(pipe)
            }
        }
        for (name, poller) in pollers {
            await clients[name]?.setSchedule(poller)
        }
    }

    /// Stops polling (a poll in progress finishes), takes in what was polled, and writes pending history.
    public func stop() async {
        for client in clients.values { await client.setSchedule(nil) }
        pipe.close()
        await consumer?.value
        consumer = nil
        await monitor.flush()
    }

    /// Polls until graceful shutdown, then stops and flushes history.
    public func run() async throws {
        await start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Takes a new, already validated config. Buses whose settings did not change keep their
    /// connection; devices that did not change keep their health, values and splits.
    public func reload(_ new: StationConfig) async {
        splits = (try? await history.loadSplits()) ?? splits
        let old = config
        config = new
        await monitor.apply(new)
        let newNames = Set(new.buses.map(\.name))
        for bus in old.buses where !newNames.contains(bus.name) {
            await clients[bus.name]?.setSchedule(nil)
            pollers[bus.name] = nil
            clients[bus.name] = nil
        }
        let running = consumer != nil
        for bus in new.buses {
            let sameBus = old.bus(named: bus.name) == bus
            if sameBus, let poller = pollers[bus.name] {
                if old.devices(onBus: bus.name) != new.devices(onBus: bus.name) {
                    poller.update(devices: new.devices(onBus: bus.name))
                    clients[bus.name]?.scheduleChanged()
                }
                continue
            }
            await clients[bus.name]?.setSchedule(nil)
            build(bus)
            if running, let client = clients[bus.name], let poller = pollers[bus.name] {
                await client.setSchedule(poller)
            }
        }
        logger.info("config reloaded", metadata: ["devices": "\(new.devices.count)", "buses": "\(new.buses.count)"])
    }

    /// Every bus's counters (for `/metrics`).
    public func busStatistics() async -> [String: BusStatistics] {
        var result: [String: BusStatistics] = [:]
        for (name, client) in clients { result[name] = client.statistics }
        return result
    }

    /// Requests one cycle of every device takes.
    public func requestsPerCycle() async -> Int {
        pollers.values.reduce(0) { $0 + $1.requestsPerCycle }
    }

    /// Whether every bus thread went round within `window` and poll results are being taken in
    /// (the watchdog's test of progress).
    public func isMakingProgress(within window: Duration) async -> Bool {
        guard consumer != nil else { return true }
        let now = ContinuousClock.now
        for client in clients.values where now - client.lastBeat > window { return false }
        return !pipe.isStalled(within: window)
    }

    // MARK: Devices, for the control socket and the interlocks

    /// The client of a device's bus.
    public func client(for device: StationConfig.Device) -> ModbusClient? { clients[device.bus] }

    /// Reads one point from the device now (not the poll cache), behind polling and the interlocks.
    public func liveRead(_ device: StationConfig.Device, _ point: PointSpec) async throws(ModbusError) -> PointValue {
        guard let client = clients[device.bus] else { throw Self.noBus(device) }
        let request = ReadRequest(table: point.table, address: point.address, count: point.width, points: [point])
        let order = device.profile.wordOrder
        let values = try await client.perform(.client, unit: device.unit) { c throws(ModbusError) in
            try DeviceReader.execute(request, unit: device.unit, order: order, on: c)
        }
        return values[point.name] ?? .noReading
    }

    /// Writes one point (coil, or holding registers in the device's word order), behind polling and
    /// the interlocks.
    public func write(_ device: StationConfig.Device, _ point: PointSpec, value: Double) async throws {
        guard let client = clients[device.bus] else { throw Self.noBus(device) }
        if point.table == .coil {
            try await client.writeCoil(unit: device.unit, address: point.address, value: value != 0, priority: .client)
        } else {
            let words = try point.encode(value, order: device.profile.wordOrder)
            if words.count == 1 {
                try await client.writeRegister(
                    unit: device.unit, address: point.address, value: words[0], priority: .client)
            } else {
                try await client.writeRegisters(
                    unit: device.unit, address: point.address, values: words, priority: .client)
            }
        }
    }

    /// Reads every point of a device once now (self-test), behind polling and the interlocks.
    public func readAll(_ device: StationConfig.Device) async -> [String: ReadOutcome] {
        guard let client = clients[device.bus] else { return [:] }
        // The self-test's one request per device is not held to the client rate (a 21-device
        // station would otherwise refuse its own 21st read).
        return await DeviceReader.readAll(device, client: client, priority: .client, limited: false)
    }

    /// Writes a relay coil and reads it back, before anything else waiting on the bus.
    public func setRelay(_ ref: StationConfig.PointRef, on: Bool) async throws -> Bool {
        guard let device = config.device(id: ref.device), let point = device.profile.point(named: ref.point),
            let client = clients[device.bus]
        else {
            throw ModbusError(
                operation: .writeCoil, bus: "?", unit: 0, address: 0, count: 1,
                cause: .invalidRequest("no relay \(ref)"))
        }
        let unit = device.unit
        let address = point.address
        let back = try await client.perform(.safety) { c throws(ModbusError) in
            try c.writeCoil(unit: unit, address: address, value: on)
            return try c.readBits(.coil, unit: unit, address: address, count: 1)
        }
        return back.first ?? !on
    }

    static func noBus(_ device: StationConfig.Device) -> ModbusError {
        ModbusError(
            operation: .connect, bus: device.bus, unit: device.unit, address: 0, count: 0,
            cause: .invalidRequest("no bus \"\(device.bus)\""))
    }
}
