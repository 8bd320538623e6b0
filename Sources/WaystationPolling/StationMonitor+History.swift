#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension StationMonitor {
    /// Each device's newest stored reading, for LAST GOOD until the device is polled again.
    public func restoreLastGood(_ times: [String: Date]) {
        lastGoodStored = times
    }

    /// A point's history not yet written to storage: its pending samples and 1-minute aggregates,
    /// and the minute still open. Read with the stored rows, the last `flush_interval` is complete.
    public func unflushed(device: String, point: String) -> (
        samples: [HistoryCodec.Sample], minutes: [HistoryCodec.Minute]
    ) {
        let key = PointRecorder.SeriesKey(device: device, point: point)
        let samples = pending.values.filter { $0.series == key }.map {
            HistoryCodec.Sample(at: HistoryStore.ms($0.at), value: $0.value)
        }
        var minutes = pending.aggregates.filter { $0.series == key }.map(\.stats)
        if let open = recorder.openMinute(key) { minutes.append(open) }
        return (samples, minutes)
    }
}
