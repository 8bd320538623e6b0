#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import WaystationAlerts
import WaystationCore
import WaystationModbus
import WaystationPolling
import WaystationStorage
import WaystationVisits

extension StationService {
    /// Every figure of the metrics contract, for `waystation-web`'s `/metrics`.
    func metrics() async throws -> GetMetrics.Reply {
        let c = await config.current
        let now = Date()
        let statuses = await polling.monitor.statuses()
        var devices: [MetricsDevice] = []
        var points: [MetricsPoint] = []
        for s in statuses {
            devices.append(
                MetricsDevice(
                    id: s.id, kind: s.kind.rawValue, state: s.health.state, maintenance: s.maintenance != nil,
                    lastGood: s.health.lastGood?.timeIntervalSince1970))
            for (spec, state) in s.points {
                guard case .good = state.quality(at: now), let v = state.value?.doubleValue, v.isFinite else {
                    continue
                }
                points.append(
                    MetricsPoint(device: s.id, kind: s.kind.rawValue, point: spec.name, unit: spec.unit, value: v))
            }
        }
        let stats = await polling.busStatistics()
        let buses = c.buses.map { bus in
            let b = stats[bus.name] ?? BusStatistics()
            return MetricsBus(
                bus: bus.name,
                requests: BusStatistics.Result.allCases.map {
                    ResultCount(result: $0.rawValue, count: b.requests[$0] ?? 0)
                },
                reconnects: b.reconnects, bucketBounds: BusStatistics.buckets, buckets: b.durationBuckets,
                durationCount: b.durationCount, durationSum: b.durationSum)
        }
        var alertCounts: [String: Int] = [:]
        for (a, _) in await alerts.list(state: nil) where a.state == .pending || a.state == .firing {
            alertCounts["\(a.state.rawValue)/\(a.severity.rawValue)", default: 0] += 1
        }
        var alertRows: [AlertCount] = []
        for state in ["pending", "firing"] {
            for severity in Severity.allCases {
                alertRows.append(
                    AlertCount(
                        state: state, severity: severity.rawValue,
                        count: alertCounts["\(state)/\(severity.rawValue)"] ?? 0))
            }
        }
        let latched = await alerts.latchedSlots
        let counts = await visits.checkInsSinceStart
        let categories = await visits.categories
        let pending = (try? await database.read { db in try Outbox.pending(db) }) ?? [:]
        let targets = Set(c.notify.map(\.name)).union(pending.keys).sorted()
        var metrics = GetMetrics.Reply(
            metrics: StationMetrics(
                version: WaystationVersion.string, station: c.station.id, district: c.station.district,
                devices: devices, points: points, buses: buses, alerts: alertRows,
                slots: c.slots.map {
                    SlotInterlock(slot: $0.id, interlocked: latched[$0.id] != nil, kind: latched[$0.id]?.kind)
                },
                occupancy: (try? await visits.store.occupancy()) ?? 0, capacity: c.station.capacity,
                checkIns: Set(categories).union(counts.keys).sorted().map {
                    CategoryCount(category: $0, count: counts[$0] ?? 0)
                },
                storageOk: await database.ping(), storageErrors: await polling.monitor.writeErrors,
                storageWrittenBytes: Self.writtenBytes(),
                databaseSizeBytes: Self.fileSize(database.path)
                    + Self.fileSize(database.path + "-wal"),
                outbox: targets.map { OutboxCount(target: $0, pending: pending[$0] ?? 0) }))
        metrics.metrics.stationName = c.station.name
        metrics.metrics.address = c.station.address
        metrics.metrics.today = await today(now: now)
        return metrics
    }

    /// Bytes this process caused to be written to storage (`write_bytes` of `/proc/self/io`).
    static func writtenBytes() -> Int {
        guard let text = try? SystemIO.readText("/proc/self/io") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
            return Int(line.dropFirst("write_bytes:".count).trimmingWhitespace()) ?? 0
        }
        return 0
    }

    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }
}
