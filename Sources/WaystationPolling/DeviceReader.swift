import WaystationCore
import WaystationModbus

/// The outcome of reading one point.
public enum ReadOutcome: Sendable, Equatable {
    case value(PointValue)
    case failed(ModbusError)
}

/// Executes read plans against a bus and decodes the values. The synchronous forms run on the bus
/// thread (inside `ModbusClient.perform`); a whole device cycle is one hop there and back.
public enum DeviceReader {
    /// Runs one read and decodes its points.
    public static func execute(_ request: ReadRequest, unit: Int, order: WordOrder, on c: ModbusConnection)
        throws(ModbusError) -> [String: PointValue]
    {
        var result: [String: PointValue] = [:]
        try read(request, unit: unit, order: order, on: c) { result[$0] = $1 }
        return result
    }

    /// Makes one request and hands each of its points' values to `put`.
    static func read(
        _ request: ReadRequest, unit: Int, order: WordOrder, on c: ModbusConnection,
        _ put: (String, PointValue) -> Void
    ) throws(ModbusError) {
        if request.table.isBits {
            let bits = try c.readBits(request.table, unit: unit, address: request.address, count: request.count)
            for p in request.points { put(p.name, p.decode(bits: bits, base: request.address)) }
        } else {
            let regs = try c.readRegisters(request.table, unit: unit, address: request.address, count: request.count)
            for p in request.points { put(p.name, p.decode(registers: regs, base: request.address, order: order)) }
        }
    }

    /// What one cycle of reads produced.
    public struct Cycle: Sendable {
        public var readings: [String: ReadOutcome] = [:]
        /// Split addresses learned (a merged read was refused with "illegal data address").
        public var learned: [(table: RegisterTable, address: Int)] = []
        public var requests = 0
        public var barriers: RequestPlanner.Barriers
    }

    /// Runs a plan on the bus thread; splits merged reads the device refuses and remembers where.
    /// After a timeout or a connection error the rest is skipped: a device that does not answer one
    /// read will not answer the next.
    public static func run(
        _ plan: [ReadRequest], device: StationConfig.Device, planner: RequestPlanner,
        barriers: RequestPlanner.Barriers, on c: ModbusConnection
    ) -> Cycle {
        var cycle = Cycle(barriers: barriers)
        cycle.readings.reserveCapacity(plan.reduce(0) { $0 + $1.points.count })
        var queue = plan
        while !queue.isEmpty {
            let request = queue.removeFirst()
            cycle.requests += 1
            do {
                // Decoded straight into the cycle's readings (no table per request copied over).
                try read(request, unit: device.unit, order: device.profile.wordOrder, on: c) {
                    cycle.readings[$0] = .value($1)
                }
            } catch {
                let walls = RequestPlanner.splitBarriers(for: request)
                if error.exception == .illegalDataAddress, !walls.isEmpty {
                    cycle.barriers[request.table, default: []].formUnion(walls)
                    cycle.learned += walls.sorted().map { (request.table, $0) }
                    queue.insert(
                        contentsOf: planner.plan(request.points, profile: device.profile, barriers: cycle.barriers),
                        at: 0)
                    continue
                }
                for p in request.points { cycle.readings[p.name] = .failed(error) }
                if error.isTimeout || error.isConnectionError {
                    for rest in queue { for p in rest.points { cycle.readings[p.name] = .failed(error) } }
                    break
                }
            }
        }
        return cycle
    }

    /// Reads every point of a device once (one hop to the bus thread), splitting merged reads the
    /// device refuses.
    public static func readAll(
        _ device: StationConfig.Device, client: ModbusClient, planner: RequestPlanner = RequestPlanner(),
        barriers: RequestPlanner.Barriers = [:], priority: ModbusClient.Priority = .poll, limited: Bool = true
    ) async -> [String: ReadOutcome] {
        let plan = planner.plan(device.profile.points, profile: device.profile, barriers: barriers)
        do {
            return try await client.perform(priority, unit: device.unit, limited: limited) { c throws(ModbusError) in
                run(plan, device: device, planner: planner, barriers: barriers, on: c).readings
            }
        } catch {
            return Dictionary(uniqueKeysWithValues: device.profile.points.map { ($0.name, ReadOutcome.failed(error)) })
        }
    }
}
