import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationPolling
import WaystationStorage
import WaystationVisits

/// A clock retention cannot trust never erases the station's past: the rules of `RetentionClock`
/// (injected clocks and kernel), and the real daemon under faketime and under the kernel's word.
@Suite("Retention and a wrong clock", .serialized)
struct RetentionClockTests {
    static let iface = "io.waystation.Station"

    @Test("the horizon: the newest record plus the time running, never a clock years ahead; the kernel's word")
    func horizonRules() {
        let record = Date(timeIntervalSince1970: 1_790_000_000)  // late 2026
        let ahead = record.addingTimeInterval(8 * 365 * 86400)  // 2034
        let t0 = ContinuousClock.now
        let clock = RetentionClock(
            newestRecord: record, lastHorizon: nil, requireSynchronised: false, now: ahead, mono: t0, kernel: { false })
        // An hour later on the monotonic clock, the horizon is the record plus that hour, not 2034.
        let later = ahead.addingTimeInterval(3600)
        #expect(
            clock.verdict(now: later, mono: t0 + .seconds(3600)) == .trusted(horizon: record.addingTimeInterval(3600)))
        #expect(
            clock.problem(now: later, mono: t0 + .seconds(3600))?.contains("ahead of the station's newest record")
                == true)
        // A run's own records (written under that clock) do not move the next run's horizon beyond
        // the horizon it reached and persisted.
        let next = RetentionClock(
            newestRecord: ahead, lastHorizon: record, requireSynchronised: false, now: ahead, mono: t0, kernel: { true }
        )
        #expect(
            next.verdict(now: ahead, mono: t0)
                == .trusted(horizon: record.addingTimeInterval(RetentionClock.recordLead)))
        // A steady clock: the horizon follows it, behind by the gap between the newest record and
        // the start (a minute here).
        let steady = RetentionClock(
            newestRecord: record, lastHorizon: record, requireSynchronised: true, now: record.addingTimeInterval(60),
            mono: t0, kernel: { true })
        let now = record.addingTimeInterval(660)
        #expect(steady.verdict(now: now, mono: t0 + .seconds(600)) == .trusted(horizon: now.addingTimeInterval(-60)))
        #expect(steady.problem(now: now, mono: t0 + .seconds(600)) == nil)
        // The kernel says not synchronised: nothing, unless the station opted out.
        let unsynced = RetentionClock(
            newestRecord: record, lastHorizon: nil, requireSynchronised: true, now: record, mono: t0, kernel: { false })
        #expect(unsynced.verdict(now: record, mono: t0) == .distrusted(RetentionClock.unsynchronised))
        unsynced.setRequireSynchronised(false)
        #expect(unsynced.verdict(now: record, mono: t0) == .trusted(horizon: record))
        // The share one pass may delete: twice an hour's share of 30 days, at least 10, never more than all.
        #expect(RetentionClock.limit(count: 72_000, period: 3600, retention: 30 * 86400) == 200)
        #expect(RetentionClock.limit(count: 50, period: 3600, retention: 30 * 86400) == 10)
        #expect(RetentionClock.limit(count: 5, period: 3600, retention: 30 * 86400) == 5)
        #expect(RetentionClock.limit(count: 500, period: 60, retention: 10) == 500)
    }

    /// The daemon under `faketime` (libfaketime, LD_PRELOAD): the wall clock starts at 2035-01-01 and
    /// runs; the monotonic one stays real. (Preloading the library without the `faketime` program
    /// loses a Swift program's arguments here.)
    static let faketime = ["/usr/bin/faketime", "2035-01-01 00:00:00"]

    /// Signals the daemon that `faketime` runs as its child (a signal to `faketime` would leave it running).
    static func signalUnderFaketime(_ d: DaemonProcess, _ signal: Int32) {
        guard d.process.isRunning else { return }  // reaped: its pid may be another's now
        let children =
            (try? String(contentsOfFile: "/proc/\(d.process.pid)/task/\(d.process.pid)/children", encoding: .utf8))
            ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) { kill(pid, signal) }
    }

    static func stopUnderFaketime(_ d: DaemonProcess) async throws -> Int32? {
        signalUnderFaketime(d, SIGTERM)
        return try await d.waitForExit()
    }

    static func visits(_ r: StationRun) throws -> [JSON] {
        try r.call("ListVisits")["visits"]?.array ?? []
    }

    static func visitCount(_ dir: String) throws -> Int {
        try openDatabase(dir + "/station.db").readNow { try Int.fetchOne($0, sql: "SELECT count(*) FROM visit") } ?? 0
    }

    static func storedValues(_ dir: String) throws -> Int {
        let history = HistoryStore(database: try openDatabase(dir + "/station.db"))
        return try ["u16", "i16", "u32", "f32", "c1", "d0", "h0"].reduce(0) {
            $0 + (try history.valueCount(device: "t1", point: $1))
        }
    }

    @Test(
        "the clock at 2035 (inside the guard's window), over two starts: no visit and no history is deleted; the self-test says why"
    )
    func clockYearsAhead() async throws {
        let s = try TestStation(tcpUnits: [1], extraConfig: "[visits]\nretention = \"720h\"\nmax_stay = \"2s\"\n")
        // Today: two visits and some history.
        let today = try await StationRun(s, waitForOnline: ["t1"])
        _ = try today.call("CheckIn", ["worker": "A-1", "category": "courier"])
        _ = try today.call("CheckIn", ["worker": "B-2", "category": "courier"])
        try await today.waitForPolls("t1", cycles: 2)
        today.daemon.signal(SIGTERM)
        #expect(try await today.daemon.waitForExit() == 0)
        let stored = try Self.storedValues(s.dir)
        try #require(stored > 0)
        // faketime (libfaketime, LD_PRELOAD) on the real binary; the monotonic clock stays real.
        for run in 1...2 {
            let d = try DaemonProcess(
                config: s.configPath, dir: s.dir, environment: ["FAKETIME_DONT_FAKE_MONOTONIC": "1"],
                wrapper: Self.faketime)
            // A failed expectation must not leave the daemon running (it is faketime's child).
            defer { Self.signalUnderFaketime(d, SIGKILL) }
            try await d.waitFor("READY=1 in 2035") { d.count("READY=1") >= 1 }
            let r = try VarlinkClient(path: s.dir + "/control.sock")
            let test = try r.call("\(Self.iface).SelfTest")
            #expect(test["clock"]?.string?.hasPrefix("2035-") == true, "faketime did not take: \(test)")
            #expect(test["clock_ok"]?.bool == false && test["ok"]?.bool == false)
            #expect(test["clock_error"]?.string?.contains("ahead of the station's newest record") == true, "\(test)")
            // A rider arrives in 2035 and overstays: once the visit maintenance has closed that visit,
            // it has also had its chance to delete; the retention pass ran at the start.
            _ = try r.call("\(Self.iface).CheckIn", ["worker": .string("C-\(run)"), "category": "courier"])
            try await d.waitFor("the 2035 visit closed by the maintenance") {
                let all =
                    try VarlinkClient(path: s.dir + "/control.sock").call("\(Self.iface).ListVisits")["visits"]?
                    .array ?? []
                return all.filter {
                    $0["checked_in"]?.string?.hasPrefix("2035-") == true && $0["closed_by"]?.string == "auto"
                }
                .count == run
            }
            #expect(try Self.visitCount(s.dir) == 2 + run, "visits were deleted in 2035 (start \(run))")
            try await d.waitFor("the retention pass") {
                d.log.contains("retention counts from the station's newest record, not the clock")
            }
            let all =
                try VarlinkClient(path: s.dir + "/control.sock").call("\(Self.iface).ListVisits")["visits"]?
                .array ?? []
            #expect(all.count == 2 + run, "visits were deleted in 2035 (start \(run)): \(all)")
            #expect(try await Self.stopUnderFaketime(d) == 0)
        }
        #expect(try Self.storedValues(s.dir) >= stored, "history was deleted at the second start in 2035")
    }

    @Test("nothing is deleted until the kernel says the clock is synchronised (adjtimex); the self-test says so")
    func kernelWord() async throws {
        let s = try TestStation(tcpUnits: [1], extraConfig: "[visits]\nretention = \"720h\"\nmax_stay = \"1h\"\n")
        let text = try String(contentsOfFile: s.configPath, encoding: .utf8)
            .replacingOccurrences(of: "require_synchronised_clock = false", with: "require_synchronised_clock = true")
        try text.write(toFile: s.configPath, atomically: true, encoding: .utf8)
        let store = VisitStore(database: try openDatabase(s.dir + "/station.db"))
        let now = Date()
        _ = try await store.checkIn(
            worker: "old", category: "courier", source: nil, at: now.addingTimeInterval(-40 * 86400))
        _ = try await store.checkOut(worker: "old", at: now.addingTimeInterval(-40 * 86400 + 600))
        // Open for a day: the maintenance closes it (a sign it ran), whatever the kernel says.
        _ = try await store.checkIn(
            worker: "stayed", category: "courier", source: nil, at: now.addingTimeInterval(-86400))
        let r = try await StationRun(s)
        try await r.daemon.waitFor("the overstayed visit closed") {
            try Self.visits(r).contains { $0["closed_by"]?.string == "auto" }
        }
        let test = try r.call("SelfTest")
        switch KernelClock.synchronised() {
        case true:
            try await r.daemon.waitFor("the old visit deleted") { try Self.visits(r).count == 1 }
            #expect(test["clock_ok"]?.bool == true, "\(test)")
        default:
            #expect(try Self.visits(r).count == 2, "a visit was deleted on an unsynchronised clock")
            #expect(test["clock_ok"]?.bool == false)
            #expect(test["clock_error"]?.string?.contains("not synchronised") == true, "\(test)")
            let ctl = DaemonProcess.binDir + "/waystationctl"
            let (_, out) = try await Spawned.run(ctl, ["selftest", "--socket", r.socket])
            #expect(out.contains("not synchronised"), "\(out)")
        }
    }
}
