import Foundation
import TestSupport
import Logging
import Testing
import WaystationCore
@testable import WaystationPolling
import WaystationSim

/// The polling engine against the real simulator and a real SQLite file.
@Suite("Polling engine")
struct PollingEngineTests {
    static let fast = """
        [polling]
        offline_after_failures = 3
        offline_after = "5s"
        max_backoff = "3s"

        """

    /// The station's thread for the engines these tests build (one for the process, as in the daemon).
    static let station = ThreadExecutor(name: "station")

    static func engine(_ station: TestStation, config: StationConfig? = nil) async throws -> PollingEngine {
        var logger = Logger(label: "test.poll")
        logger.logLevel = .error
        let cfg = config ?? station.config
        let store = HistoryStore(database: try openDatabase(cfg.storage.path))
        return try await PollingEngine(config: cfg, history: store, logger: logger, station: Self.station)
    }

    static func config(_ station: TestStation, interval: String) throws -> StationConfig {
        let text = try String(contentsOfFile: station.configPath, encoding: .utf8)
            .replacingOccurrences(of: "interval = \"1s\"", with: "interval = \"\(interval)\"")
        return try StationConfigLoader.load(text: text, path: station.configPath)
    }

    static func waitFor(_ what: String, within: Duration = .seconds(15), _ check: () async throws -> Bool) async throws
    {
        let deadline = ContinuousClock.now + within
        while try await !check() {
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("a dead device goes offline while its bus neighbours keep their cadence, and comes back")
    func deadDevice() async throws {
        let station = try TestStation(tcpUnits: [1, 2, 3], extraConfig: Self.fast, timeout: "300ms")
        let config = try Self.config(station, interval: "200ms")
        let engine = try await Self.engine(station, config: config)
        let task = Task { try? await engine.run() }
        defer { task.cancel() }
        let monitor = engine.monitor

        try await Self.waitFor("all online") {
            for id in ["t1", "t2", "t3"] where await monitor.state(of: id) != .online { return false }
            return true
        }
        // Baseline: good cycles of the neighbours over a window while all are healthy.
        let base0 = await monitor.goodCycleCount("t1") + monitor.goodCycleCount("t3")
        try await Task.sleep(for: .seconds(3))
        let baseline = await monitor.goodCycleCount("t1") + monitor.goodCycleCount("t3") - base0

        try station.simulator.setFault(device: "t2", .silent)
        try await Self.waitFor("t2 offline") { await monitor.state(of: "t2") == .offline }
        let fault0 = await monitor.goodCycleCount("t1") + monitor.goodCycleCount("t3")
        try await Task.sleep(for: .seconds(3))
        let during = await monitor.goodCycleCount("t1") + monitor.goodCycleCount("t3") - fault0
        // Same window length: the neighbours must keep most of their cadence (ratio, not time).
        #expect(baseline > 0)
        #expect(Double(during) >= 0.6 * Double(baseline), "neighbours: \(during) good cycles vs \(baseline) before")
        #expect(await monitor.state(of: "t1") == .online)
        #expect(await monitor.state(of: "t3") == .online)

        try station.simulator.setFault(device: "t2", nil)
        try await Self.waitFor("t2 back online") { await monitor.state(of: "t2") == .online }
        let transitions = try engine.history.transitions(device: "t2").map(\.to)
        #expect(transitions.contains("offline"))
        #expect(transitions.last == "online")
        // Each value carries its quality and age.
        let status = try #require(await monitor.status(of: "t2"))
        let u16 = try #require(status.points.first { $0.spec.name == "u16" })
        #expect(u16.state.value == .number(1002))
        #expect(u16.state.quality(at: Date()) == .good)
    }

    @Test("a merged read over a hole is split, every value is read, and the split is remembered")
    func holeSplit() async throws {
        let station = try TestStation(tcpUnits: [1])
        let engine = try await Self.engine(station)
        let task = Task { try? await engine.run() }
        let monitor = engine.monitor
        try await Self.waitFor("first good cycle") { await monitor.goodCycleCount("t1") >= 1 }
        task.cancel()
        await task.value
        let status = try #require(await monitor.status(of: "t1"))
        for name in ["u16", "i16", "u32", "i32", "f32", "after_hole"] {
            let state = try #require(status.points.first { $0.spec.name == name }?.state)
            #expect(state.error == nil && state.value != nil, "\(name) was not read")
        }
        #expect(status.points.first { $0.spec.name == "after_hole" }?.state.value == .number(77))
        #expect(status.health.state == .online)

        // A new engine on the same database starts with the split: no refused read this time.
        let before = try station.simulator.servedCount(device: "t1")
        let engine2 = try await Self.engine(station)
        let task2 = Task { try? await engine2.run() }
        try await Self.waitFor("first good cycle again") { await engine2.monitor.goodCycleCount("t1") >= 1 }
        task2.cancel()
        let splits = try await engine2.history.loadSplits()
        #expect(splits["t1"]?[.input] == [12])
        #expect(await engine2.requestsPerCycle() == 5)  // coils, discrete, input 0…7, input 12, holding
        #expect(try station.simulator.servedCount(device: "t1") > before)
    }

    @Test("three units on one RTU line share it without interleaved frames")
    func rtuShared() async throws {
        let station = try TestStation(tcpUnits: [], rtuUnits: [5, 6, 7], timeout: "500ms")
        let config = try Self.config(station, interval: "100ms")
        let engine = try await Self.engine(station, config: config)
        let task = Task { try? await engine.run() }
        defer { task.cancel() }
        try await Self.waitFor("10 good cycles each") {
            for id in ["r5", "r6", "r7"] where await engine.monitor.goodCycleCount(id) < 10 { return false }
            return true
        }
        for unit in [5, 6, 7] {
            let status = try #require(await engine.monitor.status(of: "r\(unit)"))
            #expect(status.points.first { $0.spec.name == "u16" }?.state.value == .number(Double(1000 + unit)))
            #expect(status.failedCycles == 0)
        }
        // Every frame the line carried was whole and for one of its units.
        let stats = try #require(station.simulator.rtuStats(bus: "rtu"))
        #expect(stats.badFrames == 0)
        #expect(stats.frames >= 150)
    }

    @Test("stored rows stay bounded for a steady value and follow real changes (real SQLite)")
    func storedRows() async throws {
        let station = try TestStation(tcpUnits: [1])
        let config = try Self.config(station, interval: "100ms")
        let engine = try await Self.engine(station, config: config)
        let task = Task { try? await engine.run() }
        defer { task.cancel() }
        try await Self.waitFor("20 cycles") { await engine.monitor.goodCycleCount("t1") >= 20 }
        // u16 held steady: one row (heartbeat is 15 min), while ≥ 20 samples were taken.
        #expect(try engine.history.valueCount(device: "t1", point: "u16") == 1)
        for v in [1.0, 2, 3] {
            try station.simulator.set(device: "t1", point: "u16", value: v)
            let target = v
            try await Self.waitFor("value \(v) stored") {
                try engine.history.values(device: "t1", point: "u16").last?.value == target
            }
        }
        #expect(try engine.history.valueCount(device: "t1", point: "u16") == 4)
    }

    @Test("pruning drops the days past retention and keeps recent ones")
    func pruning() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-prune-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = HistoryStore(database: try openDatabase(dir + "/s.db"))
        let now = Date()
        let key = PointRecorder.SeriesKey(device: "d", point: "p")
        var record = HistoryStore.CycleRecord()
        for days in [30.0, 20, 10, 1, 0] {
            let at = now.addingTimeInterval(-days * 86400)
            record.values.append(.init(series: key, at: at, value: days))
            record.aggregates.append(
                .init(
                    series: key,
                    stats: .init(minute: Int64(at.timeIntervalSince1970) / 60 * 60, min: 0, max: 1, avg: 0.5, count: 2))
            )
        }
        try await store.write(record)
        let removed = try await store.prune(now: now, retainValues: 14 * 86400, retainAggregates: 25 * 86400)
        // One flush across 30 days: a block per day it touched; the days before the cutoff go whole.
        #expect(removed.valueBlocks == 2 && removed.aggregateBlocks == 1)
        #expect(try store.values(device: "d", point: "p").map(\.value) == [10, 1, 0])
        #expect(try store.aggregateCount(device: "d", point: "p") == 4)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test("history is packed: a day of one moving reading is a few KB, and dropping it writes almost nothing")
    func packedAndCheapToPrune() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-packed-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let database = try openDatabase(dir + "/s.db")
        let store = HistoryStore(database: database)
        // Two days of a float32 voltage stored every 2 s (past its deadband), flushed every 10 min,
        // with its minutes: as the daemon writes them.
        let day = 86_400.0
        let start = (Date().timeIntervalSince1970 / day).rounded(.down) * day - 3 * day
        let key = PointRecorder.SeriesKey(device: "meter", point: "voltage")
        var volts: Float = 229.5
        var samples = 0
        for flush in 0..<Int(2 * day / 600) {
            var record = HistoryStore.CycleRecord()
            for i in 0..<300 {
                volts += i % 2 == 0 ? 0.73 : -0.61
                let at = start + Double(flush) * 600 + Double(i) * 2
                record.values.append(.init(series: key, at: Date(timeIntervalSince1970: at), value: Double(volts)))
                if i % 30 == 29 {
                    record.aggregates.append(
                        .init(
                            series: key,
                            stats: .init(
                                minute: Int64(at) / 60 * 60, min: Double(volts) - 1, max: Double(volts) + 1,
                                avg: Double(volts), count: 60)))
                }
            }
            samples += record.values.count
            try await store.write(record)
        }
        try await database.checkpoint()
        let size = Self.fileSize(dir + "/s.db")
        // A sample costs ~5 bytes (a row each cost ~20, as much again in index and page slack).
        #expect(size < samples * 8, "\(size) bytes for \(samples) samples")
        #expect(try store.valueCount(device: "meter", point: "voltage") == samples)

        // Past retention, the oldest day goes as a table: a few pages of the free list, not the day's.
        let removed = try await store.prune(
            now: Date(timeIntervalSince1970: start + 2 * day + 60), retainValues: day, retainAggregates: day)
        #expect(removed.valueBlocks == 144 && removed.aggregateBlocks == 144)
        let wal = Self.fileSize(dir + "/s.db-wal")
        print("history: \(samples) samples in \(size) bytes; pruning a day wrote \(wal) bytes of WAL")
        #expect(wal < size / 10, "pruning a day of \(size / 2) bytes wrote \(wal) bytes of WAL")
        #expect(try store.valueCount(device: "meter", point: "voltage") == samples / 2)
        #expect(try store.integrityCheck() == "ok")
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
