#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import Synchronization
import WaystationCore
import WaystationModbus

/// Polls every device of one bus on its schedule. It is the bus thread's `BusSchedule`: the thread
/// sleeps until a poll is due, reads the device in one go (between the bus's queued requests, after
/// any relay switch-off), and hands the result to `ResultPipe` — no timer task, no hop to the shared
/// pool and back per poll. Reload and figures reach its state from other threads under a lock.
final class BusPoller: BusSchedule {
    private struct State {
        var devices: [String: StationConfig.Device]
        var scheduler: PollScheduler
        var barriers: [String: RequestPlanner.Barriers]
        var plans: [PollScheduler.Job: [ReadRequest]] = [:]
    }

    let bus: String
    private let state: Mutex<State>
    private let planner: RequestPlanner
    private let pipe: ResultPipe
    private let epoch = ContinuousClock.now
    private let logger: Logger

    init(
        bus: String, devices: [StationConfig.Device], barriers: [String: RequestPlanner.Barriers],
        planner: RequestPlanner, maxBackoff: Duration, logger: Logger, pipe: ResultPipe
    ) {
        self.bus = bus
        self.planner = planner
        self.pipe = pipe
        self.logger = logger
        state = Mutex(
            Self.state(devices, barriers: barriers, planner: planner, start: 0, maxBackoff: maxBackoff.seconds))
    }

    private static func state(
        _ devices: [StationConfig.Device], barriers: [String: RequestPlanner.Barriers], planner: RequestPlanner,
        start: Double, maxBackoff: Double
    ) -> State {
        var jobs: [PollScheduler.Job] = []
        for device in devices {
            for (interval, _) in groups(device) { jobs.append(.init(device: device.id, interval: interval)) }
        }
        var s = State(
            devices: Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            scheduler: PollScheduler(jobs: jobs, start: start, maxBackoff: maxBackoff), barriers: barriers)
        for job in jobs {
            if let device = s.devices[job.device] {
                s.plans[job] = plan(job, device: device, barriers: barriers[device.id] ?? [:], planner: planner)
            }
        }
        return s
    }

    static func plan(
        _ job: PollScheduler.Job, device: StationConfig.Device, barriers: RequestPlanner.Barriers,
        planner: RequestPlanner
    ) -> [ReadRequest] {
        planner.plan(groups(device)[job.interval] ?? [], profile: device.profile, barriers: barriers)
    }

    /// A device's points grouped by their effective interval, in seconds.
    static func groups(_ device: StationConfig.Device) -> [Double: [PointSpec]] {
        Dictionary(grouping: device.profile.points) { ($0.interval ?? device.interval).seconds }
    }

    /// Requests one full cycle of all jobs takes (for figures).
    var requestsPerCycle: Int { state.withLock { $0.plans.values.reduce(0) { $0 + $1.count } } }

    // MARK: On the bus thread

    func nextDue() -> ContinuousClock.Instant? {
        state.withLock { $0.scheduler.nextDue() }.map { epoch + .seconds($0.at) }
    }

    func runDue(on connection: ModbusConnection, now: ContinuousClock.Instant) {
        let t = (now - epoch).seconds
        let picked = state.withLock {
            s -> (PollScheduler.Job, StationConfig.Device, [ReadRequest], RequestPlanner.Barriers)? in
            guard let (job, due) = s.scheduler.nextDue(), due <= t else { return nil }
            guard let device = s.devices[job.device] else {
                s.scheduler.completed(job, ok: true, at: t)
                return nil
            }
            return (job, device, s.plans[job] ?? [], s.barriers[device.id] ?? [:])
        }
        guard let (job, device, plan, walls) = picked else { return }
        let cycle = DeviceReader.run(plan, device: device, planner: planner, barriers: walls, on: connection)
        let result = CycleResult(
            device: device.id, at: Date(), readings: cycle.readings, newSplits: cycle.learned, requests: cycle.requests)
        let ok: Bool
        if case .failed = result.outcome { ok = false } else { ok = true }
        let done = (ContinuousClock.now - epoch).seconds
        let planner = self.planner
        state.withLock { s in
            // Jitter spreads only retries; a good poll keeps its cadence (and costs no getrandom call).
            s.scheduler.completed(job, ok: ok, at: done, jitter: ok ? 1 : Double.random(in: 0.8...1.2))
            // The device may have been replaced by a reload while it was read: keep its new plan.
            if !cycle.learned.isEmpty, s.devices[device.id] == device {
                s.barriers[device.id] = cycle.barriers
                s.plans[job] = Self.plan(job, device: device, barriers: cycle.barriers, planner: planner)
            }
        }
        if !cycle.learned.isEmpty {
            logger.notice(
                "device refused a merged read; splitting it",
                metadata: [
                    "device": "\(device.id)", "splits": "\(cycle.learned.map { "\($0.table.rawValue) \($0.address)" })",
                ])
        }
        pipe.send(result)
    }

    // MARK: From elsewhere

    /// Replaces the devices (reload); devices that did not change keep their splits. The caller
    /// rings the bus thread so it looks at the new due times.
    func update(devices newDevices: [StationConfig.Device]) {
        let now = (ContinuousClock.now - epoch).seconds
        let planner = self.planner
        state.withLock { s in
            s = Self.state(
                newDevices, barriers: s.barriers, planner: planner, start: now, maxBackoff: s.scheduler.maxBackoff)
        }
    }
}
