import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationModbus
import WaystationSim

/// An independent master (mbpoll, built on its own Modbus stack) reads the simulator and must get
/// what our client reads.
@Suite("mbpoll agrees with our client")
struct MbpollAgreementTests {
    /// Runs mbpoll once and returns the values it printed, by address.
    static func mbpoll(_ arguments: [String]) async throws -> [Int: String] {
        let path = try #require(
            ["/usr/bin/mbpoll", "/usr/local/bin/mbpoll"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "mbpoll is not installed (apt-get install mbpoll); `make test` installs it")
        let (_, output) = try await Spawned.run(path, arguments)
        let data = Data(output.utf8)
        var values: [Int: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("[") {
            let parts = line.split(separator: "]", maxSplits: 1)
            guard parts.count == 2, let address = Int(parts[0].dropFirst()) else { continue }
            values[address] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: ": \t"))
        }
        return values
    }

    @Test("over TCP and RTU, every table", arguments: ["tcp", "rtu"])
    func agree(transport: String) async throws {
        let station = try TestStation(tcpUnits: [1], rtuUnits: [5])
        let client = ModbusClient(bus: try station.bus(transport), logger: testLogger)
        let unit = transport == "tcp" ? 1 : 5
        let link: [String] =
            transport == "tcp"
            ? ["-m", "tcp", "-p", "\(station.port)"]
            : ["-m", "rtu", "-b", "38400", "-P", "none"]
        let target = transport == "tcp" ? "127.0.0.1" : station.dir + "/tty-daemon"
        func poll(_ type: String, _ count: Int) async throws -> [Int: String] {
            try await Self.mbpoll(
                link + ["-a", "\(unit)", "-t", type, "-r", "0", "-0", "-c", "\(count)", "-1", "-o", "2", target])
        }

        let input = try await client.readRegisters(.input, unit: unit, address: 0, count: 8)
        let mbInput = try await poll("3:hex", 8)
        #expect(mbInput.count == 8)
        for (i, word) in input.enumerated() {
            #expect(mbInput[i]?.uppercased() == String(format: "0X%04X", word), "input register \(i)")
        }
        let holding = try await client.readRegisters(.holding, unit: unit, address: 0, count: 4)
        let mbHolding = try await poll("4:hex", 4)
        for (i, word) in holding.enumerated() {
            #expect(mbHolding[i]?.uppercased() == String(format: "0X%04X", word), "holding register \(i)")
        }
        let coils = try await client.readBits(.coil, unit: unit, address: 0, count: 2)
        let mbCoils = try await poll("0", 2)
        #expect(coils.enumerated().allSatisfy { mbCoils[$0.offset] == ($0.element ? "1" : "0") })
        let discrete = try await client.readBits(.discrete, unit: unit, address: 0, count: 2)
        let mbDiscrete = try await poll("1", 2)
        #expect(discrete.enumerated().allSatisfy { mbDiscrete[$0.offset] == ($0.element ? "1" : "0") })
        #expect(mbCoils.count == 2 && mbDiscrete.count == 2)
    }
}
