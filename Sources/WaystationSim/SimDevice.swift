import CModbus
import Foundation
import WaystationCore

/// One simulated appliance: its register image (a libmodbus mapping), the true values behind it,
/// and its fault. Only used while holding the simulator's lock.
final class SimDevice {
    let id: String
    let unit: Int
    let bus: String
    let profile: Profile
    let mapping: UnsafeMutablePointer<modbus_mapping_t>
    /// Addresses covered by a point, per table; anything else answers "illegal data address".
    private(set) var valid: [RegisterTable: Set<Int>] = [:]
    /// Addresses a master may write.
    private(set) var writable: [RegisterTable: Set<Int>] = [:]
    /// The true value of every point (registers hold them rounded to the point's resolution).
    var values: [String: Double] = [:]
    /// Points pinned by `hold`: physics cannot move them.
    var held: [String: Double] = [:]
    /// Scratch state for the physics (timers, phases).
    var scratch: [String: Double] = [:]
    var fault: SimFault?
    /// Requests answered normally.
    var served = 0
    /// `served` just after each write a master made, the latest 100: how many requests it took to
    /// get there, whatever a test's look afterwards adds.
    var servedAtWrites: [Int] = []

    init(device: StationConfig.Device) throws {
        id = device.id
        unit = device.unit
        bus = device.bus
        profile = device.profile
        let profile = device.profile
        func span(_ table: RegisterTable) -> (Int32, Int32) {
            let points = profile.points.filter { $0.table == table }
            guard let low = points.map(\.address).min(), let high = points.map(\.lastAddress).max() else {
                return (0, 0)
            }
            return (Int32(low), Int32(high - low + 1))
        }
        let coils = span(.coil), discrete = span(.discrete), input = span(.input), holding = span(.holding)
        guard
            let mapping = modbus_mapping_new_start_address(
                UInt32(coils.0), UInt32(coils.1), UInt32(discrete.0), UInt32(discrete.1),
                UInt32(holding.0), UInt32(holding.1), UInt32(input.0), UInt32(input.1))
        else {
            throw SimulatorError("cannot allocate the register image of device \(device.id)")
        }
        self.mapping = mapping
        for point in profile.points {
            for a in point.address...point.lastAddress {
                valid[point.table, default: []].insert(a)
                if point.writable { writable[point.table, default: []].insert(a) }
            }
            values[point.name] = 0
        }
    }

    deinit {
        modbus_mapping_free(mapping)
    }

    func point(_ name: String) -> PointSpec? { profile.point(named: name) }

    /// The value physics and commands see.
    func get(_ name: String) -> Double { values[name] ?? 0 }

    /// Sets a value unless it is held; writes it into the register image.
    func set(_ name: String, _ value: Double) {
        guard let point = point(name) else { return }
        let v = held[name] ?? value
        values[name] = v
        store(point, v)
    }

    /// Writes one point's value into the register image.
    func store(_ point: PointSpec, _ value: Double) {
        let m = mapping.pointee
        switch point.table {
        case .coil:
            m.tab_bits[point.address - Int(m.start_bits)] = value != 0 ? 1 : 0
        case .discrete:
            m.tab_input_bits[point.address - Int(m.start_input_bits)] = value != 0 ? 1 : 0
        case .input, .holding:
            let clamped: [UInt16]
            if !value.isFinite, point.type == .float32 {
                // A broken sensor's float: NaN or infinity on the wire, as is.
                let (a, b) = RegisterCodec.split(Float(value).bitPattern, order: profile.wordOrder)
                clamped = [a, b]
            } else if let words = try? point.encode(value, order: profile.wordOrder) {
                clamped = words
            } else {
                // Out of the type's range: pin at the type's limit, like a saturating sensor.
                clamped = (try? point.encode(value > 0 ? 1e12 : -1e12, order: profile.wordOrder)) ?? [0, 0]
            }
            let base = point.table == .input ? Int(m.start_input_registers) : Int(m.start_registers)
            let tab = point.table == .input ? m.tab_input_registers : m.tab_registers
            for (i, word) in clamped.prefix(point.width).enumerated() { tab?[point.address - base + i] = word }
        }
    }

    /// Reads one point's value back from the register image (after a master wrote it).
    func load(_ point: PointSpec) -> Double {
        let m = mapping.pointee
        switch point.table {
        case .coil: return m.tab_bits[point.address - Int(m.start_bits)] != 0 ? 1 : 0
        case .discrete: return m.tab_input_bits[point.address - Int(m.start_input_bits)] != 0 ? 1 : 0
        case .input, .holding:
            let base = point.table == .input ? Int(m.start_input_registers) : Int(m.start_registers)
            guard let tab = point.table == .input ? m.tab_input_registers : m.tab_registers else { return 0 }
            let words = (0..<point.width).map { tab[point.address - base + $0] }
            return RegisterCodec.decode(
                words[...], type: point.type, order: profile.wordOrder, scale: point.scale, offset: point.offset)
        }
    }

    /// Whether every address of a request is backed by a point (and writable, for writes).
    func accepts(_ table: RegisterTable, address: Int, count: Int, write: Bool) -> Bool {
        let set = (write ? writable[table] : valid[table]) ?? []
        if !write, profile.holesReadAsZero, let low = set.min(), let high = set.max() {
            // Like an Eastron meter: anything inside its register span reads, unused ones as 0.
            return address >= low && address + count - 1 <= high
        }
        return (address..<(address + count)).allSatisfy(set.contains)
    }

    /// After a master wrote registers, take the new values as the truth.
    func absorbWrite(_ table: RegisterTable, address: Int, count: Int) {
        for point in profile.points
        where point.table == table && point.address < address + count && point.lastAddress >= address {
            values[point.name] = load(point)
        }
    }
}

/// An error starting or driving the simulator.
public struct SimulatorError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
