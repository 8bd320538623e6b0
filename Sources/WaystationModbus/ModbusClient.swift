import Logging
import Synchronization
import WaystationCore

/// A Modbus master for one bus. Every libmodbus call runs on the bus's own thread, never on Swift's
/// shared pool; requests on the bus are serialised and taken in priority order: the interlocks'
/// switch-offs first, then polling, then what control clients ask for (live reads, writes, self-test).
/// Client requests are also rate-limited per bus and their queue is capped, so no number of clients
/// can delay a relay-off write by more than the one request already on the wire.
public final class ModbusClient: Sendable {
    /// Who is asking; higher goes first.
    public enum Priority: Int, Sendable, Comparable, CaseIterable {
        case client = 0, poll = 1, safety = 2
        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
    }

    /// Limits on what control clients may queue on one bus.
    public struct ClientLimits: Sendable {
        /// Client requests waiting at once.
        public var queue = 8
        /// Sustained client requests per second, and the burst allowed above it.
        public var perSecond = 20.0
        public var burst = 20.0
        public init() {}
    }

    public let bus: StationConfig.Bus
    private let queue: BusQueue

    public init(bus: StationConfig.Bus, logger: Logger, limits: ClientLimits = ClientLimits()) {
        self.bus = bus
        var logger = logger
        logger[metadataKey: "bus"] = "\(bus.name)"
        queue = BusQueue(bus: bus, limits: limits)
        let queue = self.queue
        // The thread holds the queue, not the client: releasing the client stops the thread. The
        // connection is made on, and never leaves, the bus thread.
        let busLogger = logger
        OSThread.start(name: "bus-\(bus.name)", stackSize: 512 << 10) {
            queue.run(ModbusConnection(bus: bus, logger: busLogger))
        }
    }

    deinit {
        queue.stop()
    }

    /// Lets the bus thread finish once its queues are empty.
    public func stop() { queue.stop() }

    /// Polling (or other scheduled work) the bus thread runs between queued requests; nil stops it.
    /// Set on the bus thread itself, so it never changes in the middle of a poll: when this returns,
    /// no poll of the old schedule is running.
    public func setSchedule(_ schedule: (any BusSchedule)?) async {
        let queue = self.queue
        _ = try? await perform(.safety) { _ in queue.state.withLock { $0.schedule = schedule } }
    }

    /// Tells the bus thread its schedule has new due times.
    public func scheduleChanged() { queue.ring() }

    /// Last time the bus thread went round its loop (it does at least every second).
    public var lastBeat: ContinuousClock.Instant { queue.state.withLock { $0.lastBeat } }

    /// Runs `body` on the bus thread with the connection, at `priority`. A client request over its
    /// bus's rate or queue limit fails at once (`.busy`, naming `unit`); `limited: false` (the
    /// self-test, one request per device) is held to the queue limit but not the rate.
    public func perform<T: Sendable>(
        _ priority: Priority, unit: Int = 0, limited: Bool = true,
        _ body: @escaping @Sendable (ModbusConnection) throws(ModbusError) -> T
    ) async throws(ModbusError) -> T {
        let queue = self.queue
        let result: Result<T, ModbusError> = await withCheckedContinuation { continuation in
            let job: BusQueue.Job = { connection in
                do throws(ModbusError) {
                    continuation.resume(returning: .success(try body(connection)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if let refusal = queue.enqueue(job, priority, unit: unit, limited: limited) {
                continuation.resume(returning: .failure(refusal))
            }
        }
        return try result.get()
    }

    // MARK: Figures

    /// Requests sent on the wire.
    public var requestCount: Int { queue.state.withLock { $0.requestCount } }
    /// Requests by result, reconnects, durations.
    public var statistics: BusStatistics { queue.state.withLock { $0.statistics } }
    /// Whether a connection was open after the last request.
    public var isConnected: Bool { queue.state.withLock { $0.connected } }
    /// Requests waiting now, by priority.
    public var waiting: [Priority: Int] {
        queue.state.withLock { s in
            Dictionary(uniqueKeysWithValues: Priority.allCases.map { ($0, s.queues[$0.rawValue].count) })
        }
    }

    // MARK: One request at a time

    public func readBits(
        _ table: RegisterTable, unit: Int, address: Int, count: Int, priority: Priority = .poll
    ) async throws(ModbusError) -> [Bool] {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.readBits(table, unit: unit, address: address, count: count)
        }
    }

    public func readRegisters(
        _ table: RegisterTable, unit: Int, address: Int, count: Int, priority: Priority = .poll
    ) async throws(ModbusError) -> [UInt16] {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.readRegisters(table, unit: unit, address: address, count: count)
        }
    }

    public func writeCoil(unit: Int, address: Int, value: Bool, priority: Priority = .poll) async throws(ModbusError) {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.writeCoil(unit: unit, address: address, value: value)
        }
    }

    public func writeCoils(unit: Int, address: Int, values: [Bool], priority: Priority = .poll)
        async throws(ModbusError)
    {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.writeCoils(unit: unit, address: address, values: values)
        }
    }

    public func writeRegister(unit: Int, address: Int, value: UInt16, priority: Priority = .poll)
        async throws(ModbusError)
    {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.writeRegister(unit: unit, address: address, value: value)
        }
    }

    public func writeRegisters(unit: Int, address: Int, values: [UInt16], priority: Priority = .poll)
        async throws(ModbusError)
    {
        try await perform(priority, unit: unit) { c throws(ModbusError) in
            try c.writeRegisters(unit: unit, address: address, values: values)
        }
    }

    /// Closes the connection; the next request reopens it.
    public func disconnect() async {
        _ = try? await perform(.poll) { c throws(ModbusError) in c.disconnect() }
    }

    /// The reconnect back-off for a number of failed attempts (for tests).
    public func backoff(attempt: Int) -> Duration {
        ModbusConnection.backoff(bus, attempt: attempt)
    }
}
