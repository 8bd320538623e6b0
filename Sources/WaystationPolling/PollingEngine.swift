import Foundation
import Logging
import WaystationCore
import WaystationModbus

/// Runs a station's polling: one `BusPoller` per bus (each with its own `ModbusClient` and thread),
/// all feeding one `StationMonitor`, plus periodic retention pruning.
public final class PollingEngine: Sendable {
    public let config: StationConfig
    public let store: Store
    public let monitor: StationMonitor
    public let clients: [String: ModbusClient]
    let pollers: [String: BusPoller]
    let logger: Logger

    public init(config: StationConfig, store: Store, logger: Logger = Logger(label: "waystation.poll")) async throws {
        self.config = config
        self.store = store
        self.logger = logger
        let monitor = StationMonitor(config: config, store: store, logger: logger)
        self.monitor = monitor
        let splits = try await store.loadSplits()
        let planner = RequestPlanner(maxGap: config.polling.mergeGap)
        var clients: [String: ModbusClient] = [:]
        var pollers: [String: BusPoller] = [:]
        for bus in config.buses {
            let client = ModbusClient(bus: bus, logger: logger)
            clients[bus.name] = client
            pollers[bus.name] = BusPoller(
                client: client, devices: config.devices(onBus: bus.name), barriers: splits, planner: planner,
                maxBackoff: config.polling.maxBackoff, logger: logger,
                sink: { result in await monitor.ingest(result) })
        }
        self.clients = clients
        self.pollers = pollers
    }

    /// Polls until the task is cancelled, then flushes open aggregates.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for poller in pollers.values { group.addTask { await poller.run() } }
            group.addTask { [self] in await pruneLoop() }
            await group.waitForAll()
        }
        await monitor.flush()
    }

    private func pruneLoop() async {
        while !Task.isCancelled {
            do {
                let removed = try await store.prune(
                    now: Date(), retainValues: config.storage.retainValues.seconds,
                    retainAggregates: config.storage.retainAggregates.seconds)
                if removed.values + removed.aggregates > 0 {
                    logger.info("pruned old rows", metadata: ["values": "\(removed.values)", "aggregates": "\(removed.aggregates)"])
                }
            } catch {
                logger.error("pruning failed", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .seconds(3600)) } catch { return }
        }
    }

    /// Requests one cycle of every device takes, per bus.
    public func requestsPerCycle() async -> Int {
        var total = 0
        for poller in pollers.values { total += await poller.requestsPerCycle }
        return total
    }

    /// Pauses or resumes polling of a device.
    public func setPaused(_ device: String, _ on: Bool) async {
        guard let bus = config.device(id: device)?.bus, let poller = pollers[bus] else { return }
        await poller.setPaused(device, on)
    }
}
