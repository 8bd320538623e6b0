import Foundation
import Testing
import WaystationPolling

/// The packed history blocks (issue 15: flash): what goes in comes out, a moving float32 reading
/// costs a few bytes, and a damaged block is an error, not a crash.
@Suite("History blocks")
struct HistoryCodecTests {
    typealias Sample = HistoryCodec.Sample
    typealias Minute = HistoryCodec.Minute

    @Test("samples of every kind come back as they went in, times included")
    func samplesRoundTrip() throws {
        let base: Int64 = 1_795_985_220_478
        let samples: [Sample] = [
            .init(at: base, value: Double(f32: 230.1)),
            .init(at: base + 1003, value: nil),
            .init(at: base + 2001, value: 0),
            .init(at: base + 2001, value: -17),
            .init(at: base + 3000, value: 9_007_199_254_740_992),
            .init(at: base + 2500, value: 0.1),  // a clock set back: a negative step
            .init(at: base + 4000, value: -1.5e-7),
            .init(at: base + 900_000_000, value: 1),
            .init(at: base + 900_001_000, value: Double(Float(-0.25))),
        ]
        let data = HistoryCodec.encode(samples: samples, base: base)
        #expect(try HistoryCodec.decodeSamples(data, base: base) == samples)
        #expect(try HistoryCodec.decodeSamples(data, base: base).count == samples.count)
        // From another base, the times move with it.
        let moved = try HistoryCodec.decodeSamples(
            HistoryCodec.encode(samples: samples, base: base - 5), base: base - 5)
        #expect(moved == samples)
    }

    @Test("a float32 reading moving past its deadband every second costs at most 5 bytes a sample")
    func samplesArePacked() throws {
        let base: Int64 = 1_795_985_220_000
        var samples: [Sample] = []
        var volts: Float = 229.5
        for i in 0..<100 {
            volts += i % 2 == 0 ? 0.73 : -0.61
            samples.append(.init(at: base + Int64(i) * 1000 + Int64(i % 3), value: Double(volts)))
        }
        let data = HistoryCodec.encode(samples: samples, base: base)
        // The first value is whole (up to 5 bytes), then steps of ~1 s and of the float's low bits.
        #expect(data.count <= 5 * samples.count + 5, "\(data.count) bytes for \(samples.count) samples")
        #expect(try HistoryCodec.decodeSamples(data, base: base) == samples)
    }

    @Test("minutes come back; an average of float32 readings is kept to float32 precision, others exactly")
    func minutesRoundTrip() throws {
        let base: Int64 = 1_795_985_160
        let minutes: [Minute] = [
            .init(minute: base, min: Double(Float(229.5)), max: Double(Float(231.25)), avg: 230.123456789, count: 60),
            .init(minute: base + 60, min: 0, max: 3, avg: 1.3333333333333333, count: 59),
            .init(minute: base + 600, min: -2.5, max: 0.1, avg: 0.05, count: 1),
            .init(minute: base + 660, min: 4, max: 4, avg: 4, count: 0),
            .init(minute: base + 720, min: 0, max: 0.5, avg: 0.25, count: 3),
            .init(minute: base + 780, min: -1.5, max: 2.5, avg: 0.5, count: 3),
            .init(minute: base + 840, min: -3.25, max: -3.25, avg: -3.25, count: 60),
        ]
        let decoded = try HistoryCodec.decodeMinutes(HistoryCodec.encode(minutes: minutes, base: base), base: base)
        #expect(decoded.count == minutes.count)
        #expect(decoded[0].avg == Double(Float(230.123456789)))
        #expect(Array(decoded[1...]) == Array(minutes[1...]))
        #expect(decoded[0].minute == base && decoded[0].min == minutes[0].min && decoded[0].count == 60)
    }

    @Test("a damaged block is an error naming what is wrong, never a crash")
    func malformed() throws {
        let samples: [Sample] = [.init(at: 5, value: 1.0e300), .init(at: 6, value: 0.1)]
        let data = HistoryCodec.encode(samples: samples, base: 0)
        // Cut anywhere: an error, or (cut between two samples) the samples before the cut, never others.
        for cut in 1..<data.count {
            do {
                let got = try HistoryCodec.decodeSamples(data.prefix(cut), base: 0)
                #expect(got.count < samples.count && samples.starts(with: got), "cut at \(cut)")
            } catch is HistoryCodec.Malformed {}
        }
        #expect(throws: HistoryCodec.Malformed.self) { try HistoryCodec.decodeSamples(data.prefix(5), base: 0) }
        let minutes = HistoryCodec.encode(
            minutes: [.init(minute: 60, min: 0.1, max: 0.2, avg: 0.15, count: 2)], base: 0)
        #expect(throws: HistoryCodec.Malformed.self) { try HistoryCodec.decodeMinutes(minutes.dropLast(), base: 0) }
        #expect(throws: HistoryCodec.Malformed.self) {
            try HistoryCodec.decodeSamples(Data(repeating: 0xFF, count: 11), base: 0)
        }
    }
}

extension Double {
    /// The double a float32 register holding this literal gives.
    fileprivate init(f32 value: Float) { self = Double(value) }
}
