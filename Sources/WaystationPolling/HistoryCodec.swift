#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bytes of a history block: one series' samples (or 1-minute aggregates) of one flush, packed
/// (issue 15: flash). A row per sample cost ~20 bytes (time in ms, series, an 8-byte float, the
/// cell's header) and was written twice (WAL, then checkpoint); packed, a sample of a float32
/// register moving past its deadband costs ~5.
///
/// Samples, oldest first, each: the step from the previous sample (the first from the block's base
/// time) as whole seconds and the milliseconds left — a varint of `zigzag(seconds) << 2 | kind`,
/// then a varint of `zigzag(ms)` (polls fall on the interval give or take a few ms: two bytes for a
/// step of up to 15 s) — then by kind:
/// - 0: no reading (the device answered a sentinel), nothing more;
/// - 1: an integer (|v| ≤ 2^53): zigzag varint of its difference from the previous integer sample;
/// - 2: a value a float32 holds exactly (float32 registers): zigzag varint of the difference of its
///   float32 bit pattern from the previous float32 sample's (values near each other differ in
///   their low mantissa bits);
/// - 3: any other double: its 8 bytes, little-endian.
///
/// Minutes, oldest first, each: a varint of `zigzag(Δseconds)` from the previous minute (the first
/// from the base), a varint of the sample count, a byte of three 2-bit kinds (min, max, avg: 1
/// integer, 2 float32, 3 double), then avg, min and max: an integer as a zigzag varint, a double as
/// its 8 bytes (little-endian), a float32 as its 4 — except min and max beside a float32 average,
/// which are the zigzag varint of their bit pattern's difference from the average's. When min and
/// max are float32s, the average is kept to float32 precision too: it cannot be more precise than
/// the readings it averages.
public enum HistoryCodec {
    public struct Sample: Sendable, Equatable {
        /// Unix milliseconds.
        public var at: Int64
        /// nil: no reading.
        public var value: Double?
        public init(at: Int64, value: Double?) {
            self.at = at
            self.value = value
        }
    }

    public struct Minute: Sendable, Equatable {
        /// Unix seconds, start of the minute.
        public var minute: Int64
        public var min: Double
        public var max: Double
        public var avg: Double
        public var count: Int
        public init(minute: Int64, min: Double, max: Double, avg: Double, count: Int) {
            self.minute = minute
            self.min = min
            self.max = max
            self.avg = avg
            self.count = count
        }
    }

    /// A block that does not decode: the database was damaged or written by something else.
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    enum Kind: UInt8 {
        case none = 0, integer = 1, float32 = 2, double = 3
    }

    static let maxExactInteger = 9_007_199_254_740_992.0  // 2^53

    static func kind(of value: Double?) -> Kind {
        guard let v = value, v.isFinite else { return .none }
        if v == v.rounded(.towardZero), abs(v) <= maxExactInteger { return .integer }
        if Double(Float(v)) == v { return .float32 }
        return .double
    }

    // MARK: Samples

    public static func encode(samples: [Sample], base: Int64) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(samples.count * 5)
        var previousAt = base
        var previousInteger: Int64 = 0
        var previousBits: Int64 = 0
        for s in samples {
            let kind = kind(of: s.value)
            let (seconds, ms) = split(s.at &- previousAt)
            putVarint(&out, zigzag(seconds) << 2 | UInt64(kind.rawValue))
            putVarint(&out, zigzag(ms))
            previousAt = s.at
            guard let v = s.value else { continue }
            switch kind {
            case .none: break
            case .integer:
                let i = Int64(v)
                putVarint(&out, zigzag(i &- previousInteger))
                previousInteger = i
            case .float32:
                let bits = Int64(Int32(bitPattern: Float(v).bitPattern))
                putVarint(&out, zigzag(bits - previousBits))
                previousBits = bits
            case .double:
                putFixed(&out, v.bitPattern, bytes: 8)
            }
        }
        return Data(out)
    }

    public static func decodeSamples(_ data: Data, base: Int64) throws -> [Sample] {
        var reader = Reader(bytes: [UInt8](data))
        var samples: [Sample] = []
        var at = base
        var previousInteger: Int64 = 0
        var previousBits: Int64 = 0
        while !reader.atEnd {
            let head = try reader.varint()
            at = at &+ unzigzag(head >> 2) &* 1000 &+ unzigzag(try reader.varint())
            switch Kind(rawValue: UInt8(head & 3)) ?? .none {
            case .none:
                samples.append(Sample(at: at, value: nil))
            case .integer:
                previousInteger = previousInteger &+ unzigzag(try reader.varint())
                samples.append(Sample(at: at, value: Double(previousInteger)))
            case .float32:
                previousBits = previousBits &+ unzigzag(try reader.varint())
                guard let pattern = Int32(exactly: previousBits) else {
                    throw Malformed(description: "float32 out of range")
                }
                samples.append(Sample(at: at, value: Double(Float(bitPattern: UInt32(bitPattern: pattern)))))
            case .double:
                samples.append(Sample(at: at, value: Double(bitPattern: try reader.fixed(8))))
            }
        }
        return samples
    }

    // MARK: Minutes

    public static func encode(minutes: [Minute], base: Int64) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(minutes.count * 16)
        var previous = base
        for m in minutes {
            putVarint(&out, zigzag(m.minute &- previous))
            previous = m.minute
            putVarint(&out, UInt64(max(0, m.count)))
            let kMin = kind(of: m.min), kMax = kind(of: m.max)
            var avg = m.avg
            if kMin == .float32 || kMax == .float32, kMin != .double, kMax != .double, avg.isFinite,
                abs(avg) < Double(Float.greatestFiniteMagnitude)
            {
                avg = Double(Float(avg))
            }
            let kinds = [kMin, kMax, kind(of: avg)].map { $0 == .none ? Kind.double : $0 }
            out.append(kinds[0].rawValue | kinds[1].rawValue << 2 | kinds[2].rawValue << 4)
            let avgBits = kinds[2] == .float32 ? Int64(Int32(bitPattern: Float(avg).bitPattern)) : nil
            for (i, (v, k)) in zip([avg, m.min, m.max], [kinds[2], kinds[0], kinds[1]]).enumerated() {
                switch k {
                case .integer: putVarint(&out, zigzag(Int64(v)))
                case .float32:
                    let bits = Int64(Int32(bitPattern: Float(v).bitPattern))
                    if i > 0, let avgBits {
                        putVarint(&out, zigzag(bits - avgBits))
                    } else {
                        putFixed(&out, UInt64(Float(v).bitPattern), bytes: 4)
                    }
                case .double, .none: putFixed(&out, v.bitPattern, bytes: 8)
                }
            }
        }
        return Data(out)
    }

    public static func decodeMinutes(_ data: Data, base: Int64) throws -> [Minute] {
        var reader = Reader(bytes: [UInt8](data))
        var minutes: [Minute] = []
        var minute = base
        while !reader.atEnd {
            minute = minute &+ unzigzag(try reader.varint())
            let count = try reader.varint()
            let kinds = try reader.byte()
            // avg (bits 4-5) first, then min (0-1) and max (2-3).
            var v: [Double] = []
            var avgBits: Int64?
            for shift in [4, 0, 2] as [UInt8] {
                switch Kind(rawValue: kinds >> shift & 3) ?? .none {
                case .integer: v.append(Double(unzigzag(try reader.varint())))
                case .float32:
                    let bits: Int64
                    if let avgBits {
                        bits = avgBits &+ unzigzag(try reader.varint())
                    } else {
                        bits = Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.fixed(4))))
                        if shift == 4 { avgBits = bits }
                    }
                    guard let pattern = Int32(exactly: bits) else {
                        throw Malformed(description: "float32 out of range")
                    }
                    v.append(Double(Float(bitPattern: UInt32(bitPattern: pattern))))
                case .double: v.append(Double(bitPattern: try reader.fixed(8)))
                case .none: throw Malformed(description: "a minute without a value kind")
                }
            }
            guard let n = Int(exactly: count) else { throw Malformed(description: "a minute's count out of range") }
            minutes.append(Minute(minute: minute, min: v[1], max: v[2], avg: v[0], count: n))
        }
        return minutes
    }

    // MARK: Bytes

    /// A step in ms as whole seconds (rounded to nearest) and the ms left, in -500..<500.
    static func split(_ ms: Int64) -> (seconds: Int64, ms: Int64) {
        let shifted = ms &+ 500
        var seconds = shifted / 1000
        if shifted % 1000 < 0 { seconds -= 1 }  // floor, for steps back in time
        return (seconds, ms &- seconds &* 1000)
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ u: UInt64) -> Int64 { Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1) }

    static func putVarint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func putFixed(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var atEnd: Bool { index >= bytes.count }

        mutating func byte() throws -> UInt8 {
            guard index < bytes.count else { throw Malformed(description: "a block ends in the middle of an entry") }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                let b = try byte()
                value |= UInt64(b & 0x7F) << UInt64(shift)
                if b < 0x80 { return value }
            }
            throw Malformed(description: "a varint longer than 64 bits")
        }

        mutating func fixed(_ count: Int) throws -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(try byte()) << (8 * UInt64(i)) }
            return value
        }
    }
}
