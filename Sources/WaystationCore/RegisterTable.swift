/// The four Modbus data tables.
public enum RegisterTable: String, Sendable, CaseIterable, Hashable, Codable {
    case coil
    case discrete
    case input
    case holding

    /// Coils and discrete inputs hold bits; the others hold 16-bit registers.
    public var isBits: Bool { self == .coil || self == .discrete }

    /// Only coils and holding registers can be written by a master.
    public var isWritable: Bool { self == .coil || self == .holding }

    /// How a technician reads the table's name in an error.
    public var displayName: String {
        switch self {
        case .coil: "coils"
        case .discrete: "discrete inputs"
        case .input: "input registers"
        case .holding: "holding registers"
        }
    }
}

/// The value types a point can have on the wire.
public enum ValueType: String, Sendable, CaseIterable, Hashable, Codable {
    case bool
    case uint16
    case int16
    case uint32
    case int32
    case float32

    /// Registers (or bits, for `bool`) the value occupies.
    public var width: Int {
        switch self {
        case .bool, .uint16, .int16: 1
        case .uint32, .int32, .float32: 2
        }
    }
}

/// Order of the four bytes of a 32-bit value spread over two registers. Bytes are named A (most
/// significant) to D (least significant); registers travel big-endian on the wire.
public enum WordOrder: String, Sendable, CaseIterable, Hashable, Codable {
    /// ABCD: high word first (Modbus' "natural" order; Eastron, Chint).
    case big
    /// CDAB: low word first (PZEM-016 and many PLCs).
    case little
    /// BADC: high word first, bytes inside each word swapped.
    case bigSwap = "big_swap"
    /// DCBA: low word first, bytes inside each word swapped.
    case littleSwap = "little_swap"
}
