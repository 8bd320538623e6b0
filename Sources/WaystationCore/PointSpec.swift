/// One value of an appliance: where it lives and how to read it (BRIEF 4.2).
public struct PointSpec: Sendable, Hashable {
    public var name: String
    public var table: RegisterTable
    /// 0-based protocol address.
    public var address: Int
    public var type: ValueType
    public var scale: Double
    public var offset: Double
    public var unit: String?
    /// A stored value is rewritten only when it moves by more than this (0: every change).
    public var deadband: Double
    public var writable: Bool
    public var min: Double?
    public var max: Double?
    /// Coded values: raw integer → label (an AC mode 0 = off, 1 = cool …).
    public var labels: [Int: String]
    /// Raw patterns that mean "no reading" (0x7FFF, 0x8000, 0xFFFF …).
    public var sentinels: Set<UInt32>
    /// Overrides the device's poll interval for this point.
    public var interval: Duration?
    public var description: String?
    /// What the point means to the station (the kiosk finds the room temperature by it).
    public var role: PointRole? = nil

    public init(
        name: String, table: RegisterTable, address: Int, type: ValueType, scale: Double = 1, offset: Double = 0,
        unit: String? = nil, deadband: Double = 0, writable: Bool = false, min: Double? = nil, max: Double? = nil,
        labels: [Int: String] = [:], sentinels: Set<UInt32> = [], interval: Duration? = nil, description: String? = nil
    ) {
        self.name = name
        self.table = table
        self.address = address
        self.type = type
        self.scale = scale
        self.offset = offset
        self.unit = unit
        self.deadband = deadband
        self.writable = writable
        self.min = min
        self.max = max
        self.labels = labels
        self.sentinels = sentinels
        self.interval = interval
        self.description = description
    }

    /// Registers or bits occupied.
    public var width: Int { type.width }

    /// Last address occupied.
    public var lastAddress: Int { address + width - 1 }

    /// Label for a value, for coded points.
    public func label(for value: Double) -> String? {
        guard !labels.isEmpty, value.rounded() == value, abs(value) < 1e12 else { return nil }
        return labels[Int(value)]
    }
}

/// A decoded value of a point.
public enum PointValue: Sendable, Hashable, CustomStringConvertible {
    case bool(Bool)
    case number(Double)
    /// The device answered with a sentinel meaning "no sensor / not initialised".
    case noReading

    public var doubleValue: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .number(let d): d
        case .noReading: nil
        }
    }

    public var description: String {
        switch self {
        case .bool(let b): b ? "true" : "false"
        case .number(let d): PointValue.format(d)
        case .noReading: "no reading"
        }
    }

    /// Compact number formatting: integers without a fraction, others to 3 decimals.
    public static func format(_ d: Double) -> String { ValueText.format(d) }
}

extension PointSpec {
    /// Decodes this point from the registers of a read that starts at `base`.
    public func decode(registers: [UInt16], base: Int, order: WordOrder) -> PointValue {
        let start = address - base
        let slice = registers[start..<(start + width)]
        let pattern = RegisterCodec.rawPattern(slice, type: type, order: order)
        if sentinels.contains(pattern) { return .noReading }
        let value = RegisterCodec.rawNumber(pattern, type: type) * scale + offset
        // A NaN or infinite float from a device is no reading, never a value.
        return value.isFinite ? .number(value) : .noReading
    }

    /// Decodes this point from the bits of a read that starts at `base`.
    public func decode(bits: [Bool], base: Int) -> PointValue {
        .bool(bits[address - base])
    }

    /// Encodes an engineering value for a write of this point.
    public func encode(_ value: Double, order: WordOrder) throws(RegisterCodec.EncodeError) -> [UInt16] {
        try RegisterCodec.encode(value, type: type, order: order, scale: scale, offset: offset)
    }
}
