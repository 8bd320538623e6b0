#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Decides which samples are stored (flash wear: not every raw sample) and folds samples into
/// 1-minute min/max/avg aggregates. Pure: driven by the samples and times given.
public struct PointRecorder: Sendable {
    /// A row to store in `point_value`.
    public struct StoredValue: Sendable, Equatable {
        public var series: SeriesKey
        public var at: Date
        /// nil when the device answered a sentinel ("no reading").
        public var value: Double?

        public init(series: SeriesKey, at: Date, value: Double?) {
            self.series = series
            self.at = at
            self.value = value
        }
    }

    /// A finished 1-minute aggregate of one series, as it is stored.
    public struct Aggregate: Sendable, Equatable {
        public var series: SeriesKey
        public var stats: HistoryCodec.Minute
    }

    public struct SeriesKey: Sendable, Hashable, Comparable {
        public var device: String
        public var point: String
        public init(device: String, point: String) {
            self.device = device
            self.point = point
        }
        public static func < (a: Self, b: Self) -> Bool { (a.device, a.point) < (b.device, b.point) }
    }

    struct Last: Sendable {
        var value: Double?
        var at: Date
    }

    struct Bucket: Sendable {
        var minute: Int64
        var min: Double
        var max: Double
        var sum: Double
        var count: Int
    }

    /// A steady value is stored again at least this often.
    public var heartbeat: TimeInterval
    /// What one series remembers: its last stored sample, its open minute, and the value of its
    /// last stored aggregate. One table, so a sample costs one lookup (polls offer every point).
    struct Track: Sendable {
        var last: Last?
        var bucket: Bucket?
        var lastAggregate: Double?
    }

    private var tracks: [SeriesKey: Track] = [:]

    public init(heartbeat: TimeInterval) {
        self.heartbeat = heartbeat
    }

    /// Offers a sample; returns the row to store, if any, and a finished aggregate, if the minute turned.
    public mutating func offer(_ series: SeriesKey, value: Double?, deadband: Double, at now: Date)
        -> (stored: StoredValue?, aggregate: Aggregate?)
    {
        Self.offer(
            &tracks[series, default: Track()], series, value: value, deadband: deadband, heartbeat: heartbeat, at: now)
    }

    private static func offer(
        _ track: inout Track, _ series: SeriesKey, value: Double?, deadband: Double, heartbeat: TimeInterval,
        at now: Date
    ) -> (stored: StoredValue?, aggregate: Aggregate?) {
        var finished: Aggregate?
        if let value {
            let minute = Int64(now.timeIntervalSince1970 / 60) * 60
            if var bucket = track.bucket, bucket.minute == minute {
                bucket.min = Swift.min(bucket.min, value)
                bucket.max = Swift.max(bucket.max, value)
                bucket.sum += value
                bucket.count += 1
                track.bucket = bucket
            } else {
                if let old = track.bucket { finished = keep(series, old, in: &track) }
                track.bucket = Bucket(minute: minute, min: value, max: value, sum: value, count: 1)
            }
        }
        let store: Bool
        if let previous = track.last {
            switch (previous.value, value) {
            case (nil, nil): store = false
            case (nil, _), (_, nil): store = true
            case (let a?, let b?): store = abs(b - a) > deadband || (deadband == 0 && a != b)
            }
            if !store, now.timeIntervalSince(previous.at) < heartbeat { return (nil, finished) }
        }
        track.last = Last(value: value, at: now)
        return (StoredValue(series: series, at: now, value: value), finished)
    }

    /// Forgets a series' last stored value so the next sample is stored (e.g. after a device comes back).
    public mutating func reset(_ series: SeriesKey) {
        tracks[series]?.last = nil
    }

    /// The minute still being filled for a series, as it would be stored (a history reader's view).
    public func openMinute(_ series: SeriesKey) -> HistoryCodec.Minute? {
        tracks[series]?.bucket.map { Self.aggregate(series, $0).stats }
    }

    /// Flushes every open minute (on shutdown).
    public mutating func flushAggregates() -> [Aggregate] {
        var result: [Aggregate] = []
        for series in tracks.keys.sorted() {
            guard var track = tracks[series], let bucket = track.bucket else { continue }
            track.bucket = nil
            if let a = Self.keep(series, bucket, in: &track) { result.append(a) }
            tracks[series] = track
        }
        return result
    }

    /// A finished minute's aggregate, unless the value did not move in it and equals the last stored
    /// one: a steady value writes nothing between heartbeats (flash wear).
    static func keep(_ series: SeriesKey, _ b: Bucket, in track: inout Track) -> Aggregate? {
        let a = aggregate(series, b)
        if a.stats.min == a.stats.max, let last = track.lastAggregate, last == a.stats.avg { return nil }
        track.lastAggregate = a.stats.avg
        return a
    }

    static func aggregate(_ series: SeriesKey, _ b: Bucket) -> Aggregate {
        Aggregate(
            series: series,
            stats: .init(minute: b.minute, min: b.min, max: b.max, avg: b.sum / Double(b.count), count: b.count))
    }
}
