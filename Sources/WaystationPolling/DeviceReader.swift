import WaystationCore
import WaystationModbus

/// The outcome of reading one point.
public enum ReadOutcome: Sendable, Equatable {
    case value(PointValue)
    case failed(ModbusError)
}

/// Executes read plans against a bus and decodes the values.
public enum DeviceReader {
    /// Runs one read and decodes its points.
    public static func execute(_ request: ReadRequest, unit: Int, order: WordOrder, client: ModbusClient)
        async throws(ModbusError) -> [String: PointValue]
    {
        var result: [String: PointValue] = [:]
        if request.table.isBits {
            let bits = try await client.readBits(
                request.table, unit: unit, address: request.address, count: request.count)
            for p in request.points { result[p.name] = p.decode(bits: bits, base: request.address) }
        } else {
            let regs = try await client.readRegisters(
                request.table, unit: unit, address: request.address, count: request.count)
            for p in request.points { result[p.name] = p.decode(registers: regs, base: request.address, order: order) }
        }
        return result
    }

    /// Reads every point of a device once, splitting any merged read the device refuses.
    public static func readAll(
        _ device: StationConfig.Device, client: ModbusClient, planner: RequestPlanner = RequestPlanner(),
        barriers: inout RequestPlanner.Barriers
    ) async -> [String: ReadOutcome] {
        var readings: [String: ReadOutcome] = [:]
        var queue = planner.plan(device.profile.points, profile: device.profile, barriers: barriers)
        while !queue.isEmpty {
            let request = queue.removeFirst()
            do {
                let values = try await execute(
                    request, unit: device.unit, order: device.profile.wordOrder, client: client)
                for (name, value) in values { readings[name] = .value(value) }
            } catch {
                let walls = RequestPlanner.splitBarriers(for: request)
                if error.exception == .illegalDataAddress, !walls.isEmpty {
                    barriers[request.table, default: []].formUnion(walls)
                    queue.insert(
                        contentsOf: planner.plan(request.points, profile: device.profile, barriers: barriers), at: 0)
                    continue
                }
                for p in request.points { readings[p.name] = .failed(error) }
            }
        }
        return readings
    }
}

extension DeviceReader {
    /// Reads every point of a device once, learning splits from scratch.
    public static func readAll(
        _ device: StationConfig.Device, client: ModbusClient, planner: RequestPlanner = RequestPlanner()
    ) async -> [String: ReadOutcome] {
        var barriers: RequestPlanner.Barriers = [:]
        return await readAll(device, client: client, planner: planner, barriers: &barriers)
    }
}
