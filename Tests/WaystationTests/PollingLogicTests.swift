import Foundation
import TestSupport
import Testing
import WaystationCore
@testable import WaystationPolling

/// The pure decision logic of the polling engine, driven by injected times.
@Suite("Polling logic")
struct PollingLogicTests {
    static func point(_ name: String, _ table: RegisterTable, _ address: Int, _ type: ValueType = .uint16) -> PointSpec
    {
        PointSpec(name: name, table: table, address: address, type: type)
    }

    static func profile(maxRegisters: Int = 125, _ points: [PointSpec]) -> Profile {
        Profile(name: "p", kind: .other, maxRegistersPerRead: maxRegisters, points: points)
    }

    @Test("points merge across small gaps, split at large gaps and at the read limit")
    func planner() {
        let points = [
            Self.point("a", .input, 0), Self.point("b", .input, 1, .float32), Self.point("c", .input, 6),
            Self.point("far", .input, 40), Self.point("h", .holding, 0), Self.point("x", .coil, 0),
            Self.point("y", .coil, 30),
        ]
        let requests = RequestPlanner(maxGap: 8).plan(points, profile: Self.profile(points))
        #expect(requests.count == 4)
        let input = requests.filter { $0.table == .input }
        #expect(input.map(\.address) == [0, 40])
        #expect(input[0].count == 7 && input[0].points.map(\.name) == ["a", "b", "c"])
        #expect(requests.first { $0.table == .coil }?.count == 31)

        // A read limit of 4 registers splits the first run.
        let limited = RequestPlanner(maxGap: 8).plan(points, profile: Self.profile(maxRegisters: 4, points))
        #expect(limited.filter { $0.table == .input }.map(\.address) == [0, 6, 40])
        #expect(limited.allSatisfy { $0.table.isBits || $0.count <= 4 })
        #expect(RequestPlanner.lowerBound(points, profile: Self.profile(points)) == 3)
    }

    @Test("a refused merged read is split at its holes, and the split is kept")
    func split() {
        let points = [Self.point("a", .input, 0), Self.point("b", .input, 1), Self.point("c", .input, 12)]
        let planner = RequestPlanner(maxGap: 16)
        let merged = planner.plan(points, profile: Self.profile(points))
        #expect(merged.count == 1)
        let walls = RequestPlanner.splitBarriers(for: merged[0])
        #expect(walls == [12])
        let split = planner.plan(points, profile: Self.profile(points), barriers: [.input: walls])
        #expect(split.map(\.address) == [0, 12])
        // A contiguous read that is still refused splits between every point.
        #expect(RequestPlanner.splitBarriers(for: split[0]) == [1])
    }

    @Test("health: online, degraded, offline after N failures, online again; each transition once")
    func health() {
        var h = DeviceHealth(offlineAfterFailures: 3, offlineAfterSilence: 3600)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        #expect(h.record(.allGood, at: t0)?.to == .online)
        #expect(h.record(.allGood, at: t0 + 1) == nil)
        #expect(h.record(.partial("x"), at: t0 + 2)?.to == .degraded)
        #expect(h.record(.failed("timeout"), at: t0 + 3) == nil)
        #expect(h.record(.failed("timeout"), at: t0 + 4) == nil)
        let off = h.record(.failed("timeout"), at: t0 + 5)
        #expect(off?.to == .offline && off?.cause.contains("3 failed polls") == true)
        #expect(h.record(.failed("timeout"), at: t0 + 6) == nil)
        let back = h.record(.allGood, at: t0 + 7)
        #expect(back?.from == .offline && back?.to == .online)
    }

    @Test("health: no good read for a while is offline even with few failures")
    func silence() {
        var h = DeviceHealth(offlineAfterFailures: 100, offlineAfterSilence: 60)
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        _ = h.record(.allGood, at: t0)
        #expect(h.record(.failed("timeout"), at: t0 + 30)?.to == .degraded)
        #expect(h.record(.failed("timeout"), at: t0 + 61)?.to == .offline)
    }

    @Test("scheduler spreads devices across the interval and keeps cadence")
    func spread() {
        var s = PollScheduler(
            jobs: (0..<4).map { .init(device: "d\($0)", interval: 2) }, start: 10)
        var dues: [Double] = []
        for _ in 0..<4 {
            guard let (job, at) = s.nextDue() else { break }
            dues.append(at)
            s.completed(job, ok: true, at: at)
        }
        #expect(dues == [10, 10.5, 11, 11.5])
        #expect(s.nextDue()?.at == 12)
        // An overrun gets one catch-up poll, not a burst of the missed slots.
        guard let (job, _) = s.nextDue() else { return }
        s.completed(job, ok: true, at: 19.1)
        #expect(s.jobs.count == 4)
        #expect(s.nextDue()?.job != job)
    }

    @Test("scheduler backs a failing job off exponentially up to the cap")
    func backoff() {
        let job = PollScheduler.Job(device: "dead", interval: 1)
        var s = PollScheduler(jobs: [job], start: 0, maxBackoff: 8)
        var delays: [Double] = []
        var now = 0.0
        for _ in 0..<6 {
            s.completed(job, ok: false, at: now)
            let next = s.nextDue()?.at ?? 0
            delays.append(next - now)
            now = next
        }
        #expect(delays == [1, 2, 4, 8, 8, 8])
        s.completed(job, ok: true, at: now)
        #expect(s.failures(of: job) == 0)
    }

    @Test("deadband and heartbeat: a steady value is stored rarely, every real change is stored")
    func recorder() {
        var r = PointRecorder(heartbeat: 900)
        let key = PointRecorder.SeriesKey(device: "fridge", point: "t")
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        var stored = 0
        // One hour of a steady 4.0 °C with ±0.1 noise, sampled every 5 s, deadband 0.2.
        for i in 0..<720 {
            let noise = i % 2 == 0 ? 0.1 : -0.1
            if r.offer(key, value: 4 + noise, deadband: 0.2, at: t0 + Double(i * 5)).stored != nil { stored += 1 }
        }
        #expect(stored == 4)  // the first sample, then one heartbeat every 15 minutes
        // Real changes beyond the deadband are each stored.
        var changes = 0
        for (i, v) in [5.0, 6.0, 7.5, 7.6, 3.0].enumerated() {
            if r.offer(key, value: v, deadband: 0.2, at: t0 + 3600 + Double(i)).stored != nil { changes += 1 }
        }
        #expect(changes == 4)  // 7.6 is within the deadband of 7.5
    }

    @Test("1-minute aggregates carry min, max and mean")
    func aggregates() {
        var r = PointRecorder(heartbeat: 900)
        let key = PointRecorder.SeriesKey(device: "m", point: "p")
        let t0 = Date(timeIntervalSince1970: 1_700_000_080)  // 40 s into the minute starting 1_700_000_040
        _ = r.offer(key, value: 1, deadband: 0, at: t0)
        _ = r.offer(key, value: 3, deadband: 0, at: t0 + 10)
        _ = r.offer(key, value: 8, deadband: 0, at: t0 + 15)
        let turned = r.offer(key, value: 5, deadband: 0, at: t0 + 25).aggregate
        #expect(turned == .init(series: key, stats: .init(minute: 1_700_000_040, min: 1, max: 8, avg: 4, count: 3)))
        #expect(r.flushAggregates().first?.stats.avg == 5)
    }
}
