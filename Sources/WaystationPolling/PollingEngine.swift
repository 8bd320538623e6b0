import Foundation
import Logging
import WaystationCore
import WaystationModbus

/// Runs a station's polling: one `BusPoller` per bus (each with its own `ModbusClient` and thread),
/// all feeding one `StationMonitor`, plus periodic retention pruning.
public actor PollingEngine {
    public private(set) var config: StationConfig
    public nonisolated let store: Store
    public nonisolated let monitor: StationMonitor
    public private(set) var clients: [String: ModbusClient] = [:]
    private var pollers: [String: BusPoller] = [:]
    private var tasks: [String: Task<Void, Never>] = [:]
    private var pruneTask: Task<Void, Never>?
    private var splits: [String: RequestPlanner.Barriers]
    let logger: Logger

    public init(config: StationConfig, store: Store, logger: Logger = Logger(label: "waystation.poll")) async throws {
        self.config = config
        self.store = store
        self.logger = logger
        monitor = StationMonitor(config: config, store: store, logger: logger)
        splits = try await store.loadSplits()
        for bus in config.buses { build(bus) }
    }

    private func build(_ bus: StationConfig.Bus, client existing: ModbusClient? = nil) {
        let client = existing ?? ModbusClient(bus: bus, logger: logger)
        clients[bus.name] = client
        let monitor = self.monitor
        pollers[bus.name] = BusPoller(
            client: client, devices: config.devices(onBus: bus.name), barriers: splits,
            planner: RequestPlanner(maxGap: config.polling.mergeGap), maxBackoff: config.polling.maxBackoff,
            logger: logger, sink: { result in await monitor.ingest(result) })
    }

    /// Starts every bus poller and the pruning loop.
    public func start() {
        for (name, poller) in pollers where tasks[name] == nil {
            tasks[name] = Task { await poller.run() }
        }
        if pruneTask == nil {
            pruneTask = Task { [weak self] in await self?.pruneLoop() }
        }
    }

    /// Stops polling, waits for in-flight requests, and writes pending history.
    public func stop() async {
        let running = Array(tasks.values) + (pruneTask.map { [$0] } ?? [])
        tasks = [:]
        pruneTask = nil
        for task in running { task.cancel() }
        for task in running { await task.value }
        await monitor.flush()
    }

    /// Polls until the calling task is cancelled, then stops.
    public func run() async {
        start()
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(3600)) } catch { break }
        }
        await stop()
    }

    /// Takes a new, already validated config. Buses whose settings did not change keep their
    /// connection; devices that did not change keep their health, values and schedule.
    public func reload(_ new: StationConfig) async {
        splits = (try? await store.loadSplits()) ?? splits
        let old = config
        config = new
        await monitor.apply(new)
        let newNames = Set(new.buses.map(\.name))
        for bus in old.buses where !newNames.contains(bus.name) {
            tasks[bus.name]?.cancel()
            tasks[bus.name] = nil
            pollers[bus.name] = nil
            clients[bus.name] = nil
        }
        for bus in new.buses {
            let sameBus = old.bus(named: bus.name) == bus
            if sameBus, let poller = pollers[bus.name] {
                if old.devices(onBus: bus.name) != new.devices(onBus: bus.name) {
                    await poller.update(devices: new.devices(onBus: bus.name))
                }
                continue
            }
            tasks[bus.name]?.cancel()
            tasks[bus.name] = nil
            build(bus)
        }
        start()
        logger.info("config reloaded", metadata: ["devices": "\(new.devices.count)", "buses": "\(new.buses.count)"])
    }

    private func pruneLoop() async {
        while !Task.isCancelled {
            do {
                let removed = try await store.prune(
                    now: Date(), retainValues: config.storage.retainValues.seconds,
                    retainAggregates: config.storage.retainAggregates.seconds)
                if removed.values + removed.aggregates > 0 {
                    logger.info(
                        "pruned old rows",
                        metadata: ["values": "\(removed.values)", "aggregates": "\(removed.aggregates)"])
                }
            } catch {
                logger.error("pruning failed", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .seconds(3600)) } catch { return }
        }
    }

    /// Requests one cycle of every device takes.
    public func requestsPerCycle() async -> Int {
        var total = 0
        for poller in pollers.values { total += await poller.requestsPerCycle }
        return total
    }

    /// Whether every bus loop went round within `window` (the watchdog's test of progress).
    public func isMakingProgress(within window: Duration) async -> Bool {
        let now = ContinuousClock.now
        for (name, poller) in pollers where tasks[name] != nil {
            if now - (await poller.lastBeat) > window { return false }
        }
        return true
    }

    /// Pauses or resumes polling of a device.
    public func setPaused(_ device: String, _ on: Bool) async {
        guard let bus = config.device(id: device)?.bus, let poller = pollers[bus] else { return }
        await poller.setPaused(device, on)
    }
}
