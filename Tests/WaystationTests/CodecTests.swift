import Testing
import WaystationCore

@Suite("Register codec")
struct CodecTests {
    // 123.456 as IEEE-754 single is 0x42F6E979: bytes A=42 B=F6 C=E9 D=79.
    static let floatCases: [(WordOrder, [UInt16])] = [
        (.big, [0x42F6, 0xE979]),
        (.little, [0xE979, 0x42F6]),
        (.bigSwap, [0xF642, 0x79E9]),
        (.littleSwap, [0x79E9, 0xF642]),
    ]

    @Test("float32 decodes and encodes in every word order", arguments: floatCases)
    func float32(order: WordOrder, registers: [UInt16]) throws {
        let value = RegisterCodec.decode(registers[...], type: .float32, order: order)
        #expect(abs(value - 123.456) < 1e-4)
        #expect(try RegisterCodec.encode(123.456, type: .float32, order: order) == registers)
    }

    // 0x12345678 = 305419896; -2 as int32 = 0xFFFFFFFE.
    static let intCases: [(WordOrder, [UInt16], [UInt16])] = [
        (.big, [0x1234, 0x5678], [0xFFFF, 0xFFFE]),
        (.little, [0x5678, 0x1234], [0xFFFE, 0xFFFF]),
        (.bigSwap, [0x3412, 0x7856], [0xFFFF, 0xFEFF]),
        (.littleSwap, [0x7856, 0x3412], [0xFEFF, 0xFFFF]),
    ]

    @Test("uint32 and int32 decode and encode in every word order", arguments: intCases)
    func int32(order: WordOrder, u: [UInt16], minusTwo: [UInt16]) throws {
        #expect(RegisterCodec.decode(u[...], type: .uint32, order: order) == 305_419_896)
        #expect(try RegisterCodec.encode(305_419_896, type: .uint32, order: order) == u)
        #expect(RegisterCodec.decode(minusTwo[...], type: .int32, order: order) == -2)
        #expect(try RegisterCodec.encode(-2, type: .int32, order: order) == minusTwo)
    }

    @Test("16-bit types, bool, scale and offset")
    func sixteenBit() throws {
        #expect(RegisterCodec.decode([0xFFFF][...], type: .uint16, order: .big) == 65535)
        #expect(RegisterCodec.decode([0xFFFF][...], type: .int16, order: .big) == -1)
        #expect(RegisterCodec.decode([0xFF83][...], type: .int16, order: .big, scale: 0.1) == -12.5)
        #expect(try RegisterCodec.encode(-12.5, type: .int16, order: .big, scale: 0.1) == [0xFF83])
        #expect(RegisterCodec.decode([2731][...], type: .uint16, order: .big, scale: 0.1, offset: -273.1) == 0)
        #expect(try RegisterCodec.encode(0, type: .uint16, order: .big, scale: 0.1, offset: -273.1) == [2731])
        #expect(RegisterCodec.decode([1][...], type: .bool, order: .big) == 1)
        #expect(try RegisterCodec.encode(1, type: .bool, order: .big) == [1])
    }

    @Test("values that do not fit their type are refused")
    func outOfRange() {
        #expect(throws: RegisterCodec.EncodeError.self) { try RegisterCodec.encode(70000, type: .uint16, order: .big) }
        #expect(throws: RegisterCodec.EncodeError.self) { try RegisterCodec.encode(-1, type: .uint32, order: .big) }
        #expect(throws: RegisterCodec.EncodeError.self) { try RegisterCodec.encode(.nan, type: .float32, order: .big) }
        #expect(throws: RegisterCodec.EncodeError.self) {
            try RegisterCodec.encode(4000, type: .int16, order: .big, scale: 0.1)
        }
    }

    @Test("sentinels read as no reading")
    func sentinel() {
        let point = PointSpec(name: "t", table: .input, address: 0, type: .int16, scale: 0.1, sentinels: [0x8000])
        #expect(point.decode(registers: [0x8000], base: 0, order: .big) == .noReading)
        #expect(point.decode(registers: [0x00FA], base: 0, order: .big) == .number(25))
    }

    @Test("durations need a unit")
    func durations() {
        #expect(DurationParser.parse("500ms") == .milliseconds(500))
        #expect(DurationParser.parse("5s") == .seconds(5))
        #expect(DurationParser.parse("10m") == .seconds(600))
        #expect(DurationParser.parse("1h") == .seconds(3600))
        #expect(DurationParser.parse("1.5s") == .milliseconds(1500))
        #expect(DurationParser.parse("5") == nil)
        #expect(DurationParser.parse("fast") == nil)
        #expect(DurationParser.parse("-1s") == nil)
    }
}
