#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationStorage

extension HistoryStore {
    /// A point's stored samples and 1-minute aggregates in [from, to), oldest first. Only the day
    /// tables that can hold that time are read (a block starts on its day and spans one flush).
    public nonisolated func range(device: String, point: String, from: Date, to: Date) async throws -> (
        samples: [HistoryCodec.Sample], minutes: [HistoryCodec.Minute]
    ) {
        let fromMS = Self.ms(from), toMS = Self.ms(to)
        let days: ClosedRange<Int64> = (fromMS / 86_400_000 - 1)...(toMS / 86_400_000)
        return try await database.read { db in
            guard let series = try Self.seriesID(db, device: device, point: point) else { return ([], []) }
            var samples: [HistoryCodec.Sample] = []
            for block in try HistoryBlocks.blocks(db, .values, series: series, days: days) {
                for s in try HistoryCodec.decodeSamples(block.data, base: block.base)
                where s.at >= fromMS && s.at < toMS {
                    samples.append(s)
                }
            }
            samples.sort { $0.at < $1.at }
            var minutes: [HistoryCodec.Minute] = []
            for block in try HistoryBlocks.blocks(db, .aggregates, series: series, days: days) {
                for m in try HistoryCodec.decodeMinutes(block.data, base: block.base) {
                    let ms = m.minute * 1000
                    if ms > fromMS - 60_000 && ms < toMS { minutes.append(m) }
                }
            }
            minutes.sort { $0.minute < $1.minute }
            return (samples, minutes)
        }
    }

    /// Each device's newest stored reading (a sample with a value), from the newest two day tables:
    /// what LAST GOOD shows after a restart.
    public nonisolated func lastReadings() async throws -> [String: Date] {
        try await database.read { db in
            var deviceOf: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, device FROM series") {
                deviceOf[try row["id"]] = try row["device"]
            }
            var newest: [String: Int64] = [:]
            for t in try HistoryBlocks.tables(db, .values).suffix(2) {
                for row in try Row.fetchAll(db, sql: "SELECT id, data FROM \(t.name)") {
                    let id: Int64 = try row["id"]
                    guard let device = deviceOf[id & HistoryBlocks.seriesMask],
                        let samples = try? HistoryCodec.decodeSamples(
                            try row["data"], base: id >> HistoryBlocks.seriesBits),
                        let last = samples.filter({ $0.value != nil }).map(\.at).max()
                    else { continue }
                    newest[device] = max(newest[device] ?? last, last)
                }
            }
            return newest.mapValues { StationDatabase.date(ms: $0) }
        }
    }

    /// Device state changes since a time (of one device, or all), newest first.
    public nonisolated func transitions(device: String?, since: Date?, limit: Int) async throws -> [(
        at: Date, device: String, from: String, to: String, cause: String
    )] {
        let since = since.map(Self.ms) ?? 0
        return try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT device, at, from_state, state, cause FROM device_state
                    WHERE at >= ? AND (? IS NULL OR device = ?) ORDER BY at DESC, id DESC LIMIT ?
                    """,
                arguments: [since, device, device, limit]
            ).map {
                (
                    StationDatabase.date(ms: try $0["at"]), try $0["device"], try $0["from_state"], try $0["state"],
                    try $0["cause"]
                )
            }
        }
    }
}
