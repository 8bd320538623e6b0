/// Folds a point's samples and 1-minute aggregates into steps of min/avg/max. Pure.
///
/// A minute with an aggregate is taken from it (every reading of that minute went into it); a
/// sample in a minute without one (a steady value writes no aggregate between heartbeats, and steps
/// shorter than a minute use samples only) counts as one reading.
public enum HistorySteps {
    public struct Step: Sendable, Equatable {
        /// Unix seconds, start of the step.
        public var start: Int64
        public var min: Double?
        public var avg: Double?
        public var max: Double?
        public var count: Int
    }

    /// Steps of `step` seconds from `from` (rounded down to a multiple of `step` after adding
    /// `offset`, the station's UTC offset, so that hours and days fall on the local clock) to `to`.
    public static func summarise(
        samples: [HistoryCodec.Sample], minutes: [HistoryCodec.Minute], from: Int64, to: Int64, step: Int64,
        offset: Int64 = 0
    ) -> [Step] {
        guard step > 0, to > from else { return [] }
        let first = floorDiv(from + offset, step) * step - offset
        let n = Int((to - first + step - 1) / step)
        var acc = [(min: Double, max: Double, sum: Double, count: Int)?](repeating: nil, count: n)
        func add(_ t: Int64, min lo: Double, max hi: Double, sum: Double, count: Int) {
            guard t >= from, t < to else { return }
            let i = Int((t - first) / step)
            guard i >= 0, i < n, count > 0 else { return }
            if let a = acc[i] {
                acc[i] = (Swift.min(a.min, lo), Swift.max(a.max, hi), a.sum + sum, a.count + count)
            } else {
                acc[i] = (lo, hi, sum, count)
            }
        }
        let useMinutes = step >= 60 && step % 60 == 0
        var covered: Set<Int64> = []
        if useMinutes {
            // The same minute can come twice (stored, and pending after a failed write): once.
            for m in minutes where m.count > 0 && !covered.contains(m.minute) {
                covered.insert(m.minute)
                add(m.minute, min: m.min, max: m.max, sum: m.avg * Double(m.count), count: m.count)
            }
        }
        var seen: Set<Int64> = []
        for s in samples {
            guard let v = s.value, seen.insert(s.at).inserted else { continue }
            let seconds = floorDiv(s.at, 1000)
            if useMinutes, covered.contains(floorDiv(seconds, 60) * 60) { continue }
            add(seconds, min: v, max: v, sum: v, count: 1)
        }
        return (0..<n).map { i in
            let start = first + Int64(i) * step
            guard let a = acc[i] else { return Step(start: start, min: nil, avg: nil, max: nil, count: 0) }
            return Step(start: start, min: a.min, avg: a.sum / Double(a.count), max: a.max, count: a.count)
        }
    }

    /// A step of about `span / 60`, rounded up to one a clock reads well (1m, 2m, 5m, … 1d).
    public static func defaultStep(span: Int64) -> Int64 {
        let nice: [Int64] = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
        let want = max(1, span / 60)
        return nice.first { $0 >= want } ?? ((want + 86399) / 86400) * 86400
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
