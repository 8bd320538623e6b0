import Foundation
import TestSupport
import Testing
@testable import WaystationCore
@testable import WaystationModbus
import WaystationSim

/// The client against the real simulator: libmodbus master ↔ libmodbus server, over loopback TCP
/// and over a socat pty pair for RTU.
@Suite("Modbus client against the simulator")
struct ModbusClientTests {
    static let transports = ["tcp", "rtu"]

    /// Reads and writes every table on one device, over one transport.
    @Test("read and write every table", arguments: transports)
    func everyTable(transport: String) async throws {
        let station = try TestStation(tcpUnits: [1], rtuUnits: [5])
        let client = ModbusClient(bus: try station.bus(transport), logger: testLogger)
        let unit = transport == "tcp" ? 1 : 5

        let coils = try await client.readBits(.coil, unit: unit, address: 0, count: 2)
        #expect(coils == [false, true])
        let discrete = try await client.readBits(.discrete, unit: unit, address: 0, count: 2)
        #expect(discrete == [true, false])
        let input = try await client.readRegisters(.input, unit: unit, address: 0, count: 8)
        #expect(input[0] == UInt16(1000 + unit))
        #expect(input[1] == UInt16(bitPattern: -125))
        #expect(input[2...3] == [0x1234, 0x5678])
        #expect(RegisterCodec.decode(input[4...5], type: .int32, order: .big) == -100_000)
        #expect(abs(RegisterCodec.decode(input[6...7], type: .float32, order: .big) - 123.456) < 1e-4)
        let holding = try await client.readRegisters(.holding, unit: unit, address: 0, count: 4)
        #expect(holding[0] == 42)
        #expect(holding[3] == 9)

        // Writes change the simulated device, and read back.
        try await client.writeCoil(unit: unit, address: 0, value: true)
        try await client.writeCoils(unit: unit, address: 0, values: [true, false])
        #expect(try await client.readBits(.coil, unit: unit, address: 0, count: 2) == [true, false])
        let id = transport == "tcp" ? "t1" : "r5"
        #expect(try station.simulator.value(device: id, point: "c0") == 1)
        #expect(try station.simulator.value(device: id, point: "c1") == 0)
        try await client.writeRegister(unit: unit, address: 0, value: 4321)
        #expect(try station.simulator.value(device: id, point: "h0") == 4321)
        let encoded = try RegisterCodec.encode(-7.25, type: .float32, order: .big)
        try await client.writeRegisters(unit: unit, address: 1, values: encoded)
        #expect(try station.simulator.value(device: id, point: "hf") == -7.25)
        #expect(try await client.readRegisters(.holding, unit: unit, address: 0, count: 3) == [4321] + encoded)
    }

    static let exceptions: [ModbusException] = [
        .illegalFunction, .illegalDataAddress, .illegalDataValue, .serverDeviceFailure, .serverDeviceBusy,
        .gatewayPathUnavailable, .gatewayTargetFailedToRespond,
    ]

    @Test("each exception the server sends becomes the matching error", arguments: exceptions)
    func exceptionMapping(exception: ModbusException) async throws {
        let station = try TestStation(tcpUnits: [1])
        let client = ModbusClient(bus: try station.bus("tcp"), logger: testLogger)
        try station.simulator.setFault(device: "t1", .exception(exception))
        do {
            _ = try await client.readRegisters(.holding, unit: 1, address: 0, count: 1)
            Issue.record("read should have failed")
        } catch {
            #expect(error.cause == .exception(exception))
            #expect(error.operation == .readHoldingRegisters)
            #expect(error.bus == "tcp" && error.unit == 1 && error.address == 0 && error.count == 1)
            #expect(error.description.contains(exception.description))
        }
        // The connection is still good for the next request once the fault is cleared.
        try station.simulator.setFault(device: "t1", nil)
        #expect(try await client.readRegisters(.holding, unit: 1, address: 0, count: 1) == [42])
    }

    @Test("reading a hole answers illegal data address, like a real controller")
    func hole() async throws {
        let station = try TestStation(tcpUnits: [1])
        let client = ModbusClient(bus: try station.bus("tcp"), logger: testLogger)
        await #expect(throws: ModbusError.self) {
            _ = try await client.readRegisters(.input, unit: 1, address: 8, count: 1)
        }
        do {
            _ = try await client.readRegisters(.input, unit: 1, address: 0, count: 13)
        } catch {
            #expect(error.exception == .illegalDataAddress)
        }
        // Writing a read-only register is refused too.
        do {
            try await client.writeRegister(unit: 1, address: 3, value: 1)
            Issue.record("write to a read-only register should fail")
        } catch {
            #expect(error.exception == .illegalDataAddress)
        }
    }

    @Test("a silent device times out within the configured timeout", arguments: transports)
    func timeout(transport: String) async throws {
        let station = try TestStation(tcpUnits: [1, 2], rtuUnits: [5, 6], timeout: "300ms")
        let client = ModbusClient(bus: try station.bus(transport), logger: testLogger)
        let (silent, healthy, silentUnit, healthyUnit) = transport == "tcp" ? ("t1", "t2", 1, 2) : ("r5", "r6", 5, 6)
        try station.simulator.setFault(device: silent, .silent)
        let start = ContinuousClock.now
        do {
            _ = try await client.readRegisters(.holding, unit: silentUnit, address: 0, count: 1)
            Issue.record("read should have timed out")
        } catch {
            #expect(error.isTimeout)
            #expect(error.description.contains("timeout"))
        }
        // Loose bound: the 300 ms timeout, plus scheduling slack on a busy machine.
        #expect(ContinuousClock.now - start < .seconds(3))
        // Its neighbour on the same bus still answers.
        #expect(try await client.readRegisters(.holding, unit: healthyUnit, address: 0, count: 1) == [42])
        _ = healthy
    }

    @Test("RTU: a bad CRC and garbage are reported, and the line recovers")
    func rtuCorruption() async throws {
        let station = try TestStation(tcpUnits: [], rtuUnits: [5])
        let client = ModbusClient(bus: try station.bus("rtu"), logger: testLogger)
        try station.simulator.setFault(device: "r5", .badCRC)
        do {
            _ = try await client.readRegisters(.holding, unit: 5, address: 0, count: 2)
            Issue.record("bad CRC should fail")
        } catch {
            #expect(error.cause == .badCRC)
        }
        try station.simulator.setFault(device: "r5", .garbage)
        await #expect(throws: ModbusError.self) {
            _ = try await client.readRegisters(.holding, unit: 5, address: 0, count: 2)
        }
        try station.simulator.setFault(device: "r5", nil)
        let values = try await eventually { try await client.readRegisters(.holding, unit: 5, address: 0, count: 1) }
        #expect(values == [42])
    }

    @Test("TCP endpoint killed and started again: the same client recovers")
    func reconnect() async throws {
        let station = try TestStation(tcpUnits: [1])
        let client = ModbusClient(bus: try station.bus("tcp"), logger: testLogger)
        #expect(try await client.readRegisters(.holding, unit: 1, address: 0, count: 1) == [42])

        try station.simulator.setEndpoint(bus: "tcp", up: false)
        do {
            _ = try await client.readRegisters(.holding, unit: 1, address: 0, count: 1)
            Issue.record("read should fail while the endpoint is down")
        } catch {
            #expect(error.isConnectionError)
        }
        // While down, further reads fail fast (back-off) or are refused; none hang.
        for _ in 0..<5 {
            await #expect(throws: ModbusError.self) {
                _ = try await client.readRegisters(.holding, unit: 1, address: 0, count: 1)
            }
        }
        try station.simulator.setEndpoint(bus: "tcp", up: true)
        let values = try await eventually { try await client.readRegisters(.holding, unit: 1, address: 0, count: 1) }
        #expect(values == [42])
        #expect(await client.isConnected)
    }

    @Test("dropped connections (gateway reboot) are reopened without spinning")
    func dropped() async throws {
        let station = try TestStation(tcpUnits: [1])
        let client = ModbusClient(bus: try station.bus("tcp"), logger: testLogger)
        #expect(try await client.readRegisters(.holding, unit: 1, address: 0, count: 1) == [42])
        try station.simulator.dropConnections(bus: "tcp")
        let values = try await eventually { try await client.readRegisters(.holding, unit: 1, address: 0, count: 1) }
        #expect(values == [42])
        // Requests sent stay few: a spinning client would have sent thousands.
        #expect(await client.requestCount < 50)
    }

    @Test("back-off grows and stays within its bounds")
    func backoff() async throws {
        let bus = StationConfig.Bus(
            name: "b", transport: .tcp(host: "127.0.0.1", port: 1), timeout: .seconds(1), byteTimeout: .seconds(1),
            frameDelay: .zero, reconnectMin: .milliseconds(100), reconnectMax: .seconds(2))
        let client = ModbusClient(bus: bus, logger: testLogger)
        let first = await client.backoff(attempt: 1)
        let later = await client.backoff(attempt: 10)
        #expect(first >= Duration.milliseconds(75) && first <= Duration.milliseconds(125))
        #expect(later >= Duration.milliseconds(1500) && later <= Duration.milliseconds(2500))
    }
}
