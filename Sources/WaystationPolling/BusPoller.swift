#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import WaystationModbus

/// Polls every device of one bus on its schedule, one request at a time (the bus worker).
///
/// The blocking I/O happens on the bus's own thread inside `ModbusClient`; this loop only waits.
actor BusPoller {
    let client: ModbusClient
    private(set) var devices: [String: StationConfig.Device]
    private var scheduler: PollScheduler
    private var barriers: [String: RequestPlanner.Barriers]
    private var plans: [PollScheduler.Job: [ReadRequest]] = [:]
    private let planner: RequestPlanner
    private let sink: @Sendable (CycleResult) async -> Void
    private let epoch = ContinuousClock.now
    private let logger: Logger
    private var paused: Set<String> = []
    /// Last time the loop went round (the watchdog's sign of progress).
    private(set) var lastBeat = ContinuousClock.now

    init(
        client: ModbusClient, devices: [StationConfig.Device], barriers: [String: RequestPlanner.Barriers],
        planner: RequestPlanner, maxBackoff: Duration, logger: Logger,
        sink: @escaping @Sendable (CycleResult) async -> Void
    ) {
        self.client = client
        self.devices = Dictionary(devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.barriers = barriers
        self.planner = planner
        self.sink = sink
        self.logger = logger
        var jobs: [PollScheduler.Job] = []
        for device in devices {
            for (interval, _) in Self.groups(device) { jobs.append(.init(device: device.id, interval: interval)) }
        }
        scheduler = PollScheduler(jobs: jobs, start: 0, maxBackoff: maxBackoff.seconds)
        for job in jobs {
            if let device = self.devices[job.device] {
                plans[job] = Self.plan(job, device: device, barriers: barriers[device.id] ?? [:], planner: planner)
            }
        }
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

    private func plan(_ job: PollScheduler.Job) -> [ReadRequest] {
        guard let device = devices[job.device] else { return [] }
        return Self.plan(job, device: device, barriers: barriers[device.id] ?? [:], planner: planner)
    }

    /// Requests one full cycle of all jobs takes (for figures).
    var requestsPerCycle: Int { plans.values.reduce(0) { $0 + $1.count } }

    private var now: Double { (ContinuousClock.now - epoch).seconds }

    func run() async {
        while !Task.isCancelled {
            lastBeat = ContinuousClock.now
            guard let (job, due) = scheduler.nextDue() else {
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                continue
            }
            let wait = due - now
            if wait > 0 {
                // Sleep in slices of at most a second so the watchdog sees the loop alive; round up, or
                // the last millisecond before a due time would spin through the scheduler.
                let ms = Int64((min(wait, 1) * 1000).rounded(.up))
                do { try await Task.sleep(for: .milliseconds(max(ms, 1))) } catch { return }
                continue
            }
            if paused.contains(job.device) {
                scheduler.completed(job, ok: true, at: now)
                continue
            }
            let result = await poll(job)
            let ok: Bool
            if case .failed = result.outcome { ok = false } else { ok = true }
            scheduler.completed(job, ok: ok, at: now, jitter: Double.random(in: 0.8...1.2))
            await sink(result)
        }
    }

    /// Reads one job's points now, in one hop to the bus thread; splits merged reads refused with
    /// "illegal data address" and remembers the split.
    func poll(_ job: PollScheduler.Job) async -> CycleResult {
        guard let device = devices[job.device] else {
            return CycleResult(device: job.device, at: Date(), readings: [:], newSplits: [], requests: 0)
        }
        let plan = plans[job] ?? []
        let planner = self.planner
        let walls = barriers[device.id] ?? [:]
        let cycle: DeviceReader.Cycle
        do {
            cycle = try await client.perform(.poll) { c throws(ModbusError) in
                DeviceReader.run(plan, device: device, planner: planner, barriers: walls, on: c)
            }
        } catch {
            var failed = DeviceReader.Cycle(barriers: walls)
            for request in plan { for p in request.points { failed.readings[p.name] = .failed(error) } }
            cycle = failed
        }
        if !cycle.learned.isEmpty {
            barriers[device.id] = cycle.barriers
            logger.notice(
                "device refused a merged read; splitting it",
                metadata: [
                    "device": "\(device.id)", "splits": "\(cycle.learned.map { "\($0.table.rawValue) \($0.address)" })",
                ])
            plans[job] = self.plan(job)
        }
        return CycleResult(
            device: device.id, at: Date(), readings: cycle.readings, newSplits: cycle.learned, requests: cycle.requests)
    }

    /// Replaces the devices (reload); devices that did not change keep their schedule and splits.
    func update(devices newDevices: [StationConfig.Device]) {
        devices = Dictionary(newDevices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var jobs: [PollScheduler.Job] = []
        for device in newDevices {
            for (interval, _) in Self.groups(device) { jobs.append(.init(device: device.id, interval: interval)) }
        }
        scheduler = PollScheduler(jobs: jobs, start: now, maxBackoff: scheduler.maxBackoff)
        plans = [:]
        for job in jobs { plans[job] = plan(job) }
    }

    /// Stops or resumes polling one device (maintenance).
    func setPaused(_ device: String, _ on: Bool) {
        if on { paused.insert(device) } else { paused.remove(device) }
    }
}
