/// Converts between register contents and engineering values.
public enum RegisterCodec {
    /// Joins two registers into a 32-bit pattern in the given order.
    public static func join(_ first: UInt16, _ second: UInt16, order: WordOrder) -> UInt32 {
        switch order {
        case .big: return UInt32(first) << 16 | UInt32(second)
        case .little: return UInt32(second) << 16 | UInt32(first)
        case .bigSwap: return UInt32(first.byteSwapped) << 16 | UInt32(second.byteSwapped)
        case .littleSwap: return UInt32(second.byteSwapped) << 16 | UInt32(first.byteSwapped)
        }
    }

    /// Splits a 32-bit pattern into the two registers as they go on the wire.
    public static func split(_ value: UInt32, order: WordOrder) -> (UInt16, UInt16) {
        let high = UInt16(truncatingIfNeeded: value >> 16)
        let low = UInt16(truncatingIfNeeded: value)
        switch order {
        case .big: return (high, low)
        case .little: return (low, high)
        case .bigSwap: return (high.byteSwapped, low.byteSwapped)
        case .littleSwap: return (low.byteSwapped, high.byteSwapped)
        }
    }

    /// The raw bit pattern of a value (16 or 32 bits), as compared against sentinels.
    public static func rawPattern(_ registers: ArraySlice<UInt16>, type: ValueType, order: WordOrder) -> UInt32 {
        let first = registers[registers.startIndex]
        if type.width == 1 { return UInt32(first) }
        return join(first, registers[registers.startIndex + 1], order: order)
    }

    /// The unscaled number a register pattern holds.
    public static func rawNumber(_ pattern: UInt32, type: ValueType) -> Double {
        switch type {
        case .bool: return pattern != 0 ? 1 : 0
        case .uint16: return Double(UInt16(truncatingIfNeeded: pattern))
        case .int16: return Double(Int16(bitPattern: UInt16(truncatingIfNeeded: pattern)))
        case .uint32: return Double(pattern)
        case .int32: return Double(Int32(bitPattern: pattern))
        case .float32: return Double(Float(bitPattern: pattern))
        }
    }

    /// Decodes registers to an engineering value: raw × scale + offset.
    public static func decode(
        _ registers: ArraySlice<UInt16>, type: ValueType, order: WordOrder, scale: Double = 1, offset: Double = 0
    ) -> Double {
        rawNumber(rawPattern(registers, type: type, order: order), type: type) * scale + offset
    }

    /// Why a value cannot be encoded.
    public enum EncodeError: Error, Sendable, Equatable, CustomStringConvertible {
        case notFinite(Double)
        case outOfRange(value: Double, raw: Double, type: ValueType)

        public var description: String {
            switch self {
            case .notFinite(let v): "value \(v) is not a finite number"
            case .outOfRange(let v, let raw, let type):
                "value \(v) needs raw \(raw), which does not fit in \(type.rawValue)"
            }
        }
    }

    /// Encodes an engineering value into registers: (value − offset) / scale, rounded.
    public static func encode(
        _ value: Double, type: ValueType, order: WordOrder, scale: Double = 1, offset: Double = 0
    ) throws(EncodeError) -> [UInt16] {
        guard value.isFinite else { throw .notFinite(value) }
        let raw = (value - offset) / (scale == 0 ? 1 : scale)
        switch type {
        case .float32:
            let (a, b) = split(Float(raw).bitPattern, order: order)
            return [a, b]
        case .bool:
            return [raw != 0 ? 1 : 0]
        default:
            let rounded = raw.rounded()
            let range: ClosedRange<Double> =
                switch type {
                case .uint16: 0...65535
                case .int16: -32768...32767
                case .uint32: 0...4_294_967_295
                default: -2_147_483_648...2_147_483_647
                }
            guard range.contains(rounded) else { throw .outOfRange(value: value, raw: rounded, type: type) }
            switch type {
            case .uint16: return [UInt16(rounded)]
            case .int16: return [UInt16(bitPattern: Int16(rounded))]
            case .uint32:
                let (a, b) = split(UInt32(rounded), order: order)
                return [a, b]
            default:
                let (a, b) = split(UInt32(bitPattern: Int32(rounded)), order: order)
                return [a, b]
            }
        }
    }
}
