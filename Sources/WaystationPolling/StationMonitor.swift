#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import WaystationModbus

/// The daemon's picture of the station: device health and live point values. Takes every poll
/// result in order, records transitions and sparse history to the store in one transaction per
/// cycle, and keeps counters for figures.
public actor StationMonitor: StationSnapshotSource {
    /// The station's thread (shared with the alert service): a result from a bus thread wakes it
    /// alone, not the shared pool.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        station.asUnownedSerialExecutor()
    }
    /// The station's thread, given by the composition root.
    public nonisolated let station: ThreadExecutor
    public struct DeviceStatus: Sendable {
        public var id: String
        public var kind: Profile.Kind
        public var profile: String
        public var health: DeviceHealth
        public var points: [(spec: PointSpec, state: PointState)]
        public var goodCycles: Int
        public var failedCycles: Int
        public var maintenance: (reason: String, since: Date)?
        public var bus: String
        public var unit: Int
        /// The newest reading in storage from before this start (LAST GOOD until the first poll).
        public var lastGoodStored: Date?
    }

    private let store: HistoryStore
    private var config: StationConfig
    private var health: [String: DeviceHealth] = [:]
    private var points: [String: [String: Tracked]] = [:]

    /// A point as the monitor follows it: its state, and what recording it needs, worked out once
    /// per config rather than looked up in the profile for every reading.
    struct Tracked: Sendable {
        var state: PointState
        let deadband: Double
        let series: PointRecorder.SeriesKey
    }
    var recorder: PointRecorder
    private var goodCycles: [String: Int] = [:]
    private var failedCycles: [String: Int] = [:]
    private var lastFailureLog: [String: Date] = [:]
    public private(set) var cycles = 0
    public private(set) var lastCycleAt: Date?
    public private(set) var writeErrors = 0
    private var failingSince: Date?
    private var lastWriteErrorLog = Date.distantPast
    /// History waiting for the next flush.
    var pending = HistoryStore.CycleRecord()
    private var lastFlush = Date()
    private let logger: Logger
    /// Each device's newest stored reading at start (see `restoreLastGood`).
    var lastGoodStored: [String: Date] = [:]
    /// Devices in maintenance: reason and since when.
    private var maintenance: [String: (reason: String, since: Date)] = [:]
    /// What `snapshot` hands out, kept up to date as results come in (one device per poll) rather
    /// than rebuilt for every reader: the alert engine asks after every poll and every second.
    private var live = StationSnapshot()
    /// Changes for `Watch` subscribers.
    public nonisolated let events = Broadcaster<MonitorEvent>()
    /// Runs after each poll result is taken in, before history is written: the alert engine and the
    /// interlocks react in the same poll cycle.
    private var afterIngest: (any PollObserver)?

    public func setAfterIngest(_ observer: any PollObserver) {
        afterIngest = observer
    }

    /// Takes results in as they come until the pipe is closed. Isolated here, so the loop waits
    /// and resumes on the station's thread.
    func consume(_ pipe: ResultPipe) async {
        while let result = await pipe.next() {
            await ingest(result)
            pipe.taken()
        }
    }
    /// A device that keeps failing is logged again at most this often.
    public var failureLogInterval: TimeInterval = 600

    public init(config: StationConfig, store: HistoryStore, logger: Logger, station: ThreadExecutor) {
        self.station = station
        self.config = config
        self.store = store
        self.logger = logger
        recorder = PointRecorder(heartbeat: config.storage.heartbeat.seconds)
        for device in config.devices {
            (health[device.id], points[device.id]) = Self.fresh(device, config.polling)
        }
        for device in config.devices {
            if let h = health[device.id] {
                live.devices[device.id] = Self.liveDevice(h, points[device.id] ?? [:], inMaintenance: false)
            }
        }
    }

    private static func fresh(_ device: StationConfig.Device, _ polling: StationConfig.Polling)
        -> (DeviceHealth, [String: Tracked])
    {
        let h = DeviceHealth(
            offlineAfterFailures: polling.offlineAfterFailures, offlineAfterSilence: polling.offlineAfter.seconds)
        var states: [String: Tracked] = [:]
        for p in device.profile.points {
            states[p.name] = Tracked(
                state: PointState(staleAfter: max(3 * (p.interval ?? device.interval).seconds, 5)),
                deadband: p.deadband, series: PointRecorder.SeriesKey(device: device.id, point: p.name))
        }
        return (h, states)
    }

    /// Takes a new config: devices that stay keep their health and values.
    public func apply(_ newConfig: StationConfig) {
        let old = Dictionary(config.devices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        config = newConfig
        for device in newConfig.devices where old[device.id] != device {
            (health[device.id], points[device.id]) = Self.fresh(device, newConfig.polling)
        }
        let ids = Set(newConfig.devices.map(\.id))
        for id in health.keys where !ids.contains(id) {
            health[id] = nil
            points[id] = nil
        }
        rebuildLive()
    }

    /// Ingests one poll result.
    public func ingest(_ result: CycleResult) async {
        guard let device = config.device(id: result.device), var h = health[result.device] else { return }
        cycles += 1
        lastCycleAt = result.at
        let outcome = result.outcome
        var record = HistoryStore.CycleRecord()
        if let t = h.record(outcome, at: result.at) {
            record.transitions.append((device.id, t))
            publish(.deviceState(device: device.id, transition: t))
            let level: Logger.Level = t.to == .offline ? .warning : (t.to == .degraded ? .notice : .info)
            logger.log(
                level: level, "device \(t.from.rawValue) → \(t.to.rawValue)",
                metadata: [
                    "device": "\(device.id)", "cause": "\(t.cause)",
                    "message_id": "\(JournalMessageID.deviceStateChanged)",
                ])
            lastFailureLog[device.id] = result.at
        } else if case .failed(let error) = outcome,
            result.at.timeIntervalSince(lastFailureLog[device.id] ?? .distantPast) >= failureLogInterval
        {
            logger.warning(
                "device still failing",
                metadata: ["device": "\(device.id)", "state": "\(h.state.rawValue)", "error": "\(error)"])
            lastFailureLog[device.id] = result.at
        }
        health[device.id] = h
        if case .failed = outcome {
            failedCycles[device.id, default: 0] += 1
        } else {
            goodCycles[device.id, default: 0] += 1
        }

        // The device's point states and live points are taken out, changed in place and put back:
        // one lookup per point read instead of a copy of the device's whole table per poll.
        var states = points.removeValue(forKey: device.id) ?? [:]
        var livePoints = live.devices.removeValue(forKey: device.id)?.points ?? [:]
        for (name, reading) in result.readings {
            guard let index = states.index(forKey: name) else { continue }
            let tracked = states.values[index]
            var state = tracked.state
            switch reading {
            case .value(let v):
                state.value = v
                state.readAt = result.at
                state.error = nil
                let (stored, aggregate) = recorder.offer(
                    tracked.series, value: v.doubleValue, deadband: tracked.deadband, at: result.at)
                if let stored { record.values.append(stored) }
                if let aggregate { record.aggregates.append(aggregate) }
            case .failed(let e):
                state.error = e.causeDescription
            }
            states.values[index].state = state
            livePoints[name] = Self.livePoint(state)
        }
        record.splits = result.newSplits.map { (device.id, $0.table, $0.address) }
        points[device.id] = states
        live.devices[device.id] = StationSnapshot.Device(
            state: h.state, inMaintenance: maintenance[device.id] != nil, points: livePoints)
        if let afterIngest { await afterIngest.afterPoll(device: device.id) }
        pending.append(record)
        // State changes and learned splits go to disk at once; value history is batched.
        let urgent = !record.transitions.isEmpty || !record.splits.isEmpty
        if urgent || result.at.timeIntervalSince(lastFlush) >= config.storage.flushInterval.seconds {
            await writePending(at: result.at)
        }
    }

    private func writePending(at now: Date) async {
        let batch = pending
        pending = HistoryStore.CycleRecord()
        lastFlush = now
        do {
            try await store.write(batch)
            if writeErrors > 0, failingSince != nil {
                logger.notice("poll results written again", metadata: ["after_failures": "\(writeErrors)"])
            }
            failingSince = nil
        } catch {
            writeErrors += 1
            // Keep the rows for the next try rather than lose them: state changes always, values up to
            // a bound (a full disk can last; polling and the interlocks go on meanwhile).
            if batch.values.count < 100_000 {
                pending.prepend(batch)
            } else {
                var keep = batch
                keep.values = []
                keep.aggregates = []
                pending.prepend(keep)
            }
            if failingSince == nil || now.timeIntervalSince(lastWriteErrorLog) >= 600 {
                logger.error("cannot write poll results; kept and retried", metadata: ["error": "\(error)"])
                lastWriteErrorLog = now
            }
            if failingSince == nil { failingSince = now }
        }
    }

    /// Writes pending history and the open 1-minute aggregates (on shutdown).
    public func flush() async {
        pending.aggregates += recorder.flushAggregates()
        await writePending(at: Date())
    }

    public func status(of id: String) -> DeviceStatus? {
        guard let device = config.device(id: id), let h = health[id] else { return nil }
        let states = points[id] ?? [:]
        return DeviceStatus(
            id: id, kind: device.profile.kind, profile: device.profile.name, health: h,
            points: device.profile.points.map { ($0, states[$0.name]?.state ?? PointState(staleAfter: 5)) },
            goodCycles: goodCycles[id] ?? 0, failedCycles: failedCycles[id] ?? 0, maintenance: maintenance[id],
            bus: device.bus, unit: device.unit, lastGoodStored: lastGoodStored[id])
    }

    public func statuses() -> [DeviceStatus] {
        config.devices.compactMap { status(of: $0.id) }
    }

    /// Sets or clears a device's maintenance flag (persisting it is the caller's job).
    public func setMaintenance(_ device: String, reason: String?, at: Date) {
        if let reason { maintenance[device] = (reason, at) } else { maintenance[device] = nil }
        refreshLive(device)
        publish(.maintenance(device: device, reason: reason, at: at))
    }

    public func isInMaintenance(_ device: String) -> Bool { maintenance[device] != nil }

    /// Restores maintenance flags at start.
    public func restoreMaintenance(_ flags: [String: (reason: String, since: Date)]) {
        maintenance = flags
        rebuildLive()
    }

    /// Sends an event to every subscriber.
    public nonisolated func publish(_ event: MonitorEvent) {
        events.publish(event)
    }

    /// Every device's state and its points' latest readings (for alerts and interlocks).
    public func snapshot(of ids: Set<String>?) -> StationSnapshot {
        guard let ids else { return live }
        var snapshot = StationSnapshot()
        for id in ids { snapshot.devices[id] = live.devices[id] }
        return snapshot
    }

    /// Rebuilds one device's entry of `live` from its health, points and maintenance flag.
    private func refreshLive(_ id: String) {
        live.devices[id] = health[id].map {
            Self.liveDevice($0, points[id] ?? [:], inMaintenance: maintenance[id] != nil)
        }
    }

    private static func liveDevice(_ h: DeviceHealth, _ states: [String: Tracked], inMaintenance: Bool)
        -> StationSnapshot.Device
    {
        var points: [String: StationSnapshot.Point] = [:]
        points.reserveCapacity(states.count)
        for (name, tracked) in states { points[name] = livePoint(tracked.state) }
        return .init(state: h.state, inMaintenance: inMaintenance, points: points)
    }

    private static func livePoint(_ state: PointState) -> StationSnapshot.Point {
        .init(value: state.value?.doubleValue, readAt: state.readAt, failing: state.error != nil)
    }

    private func rebuildLive() {
        live = StationSnapshot()
        for device in config.devices { refreshLive(device.id) }
    }

    public func goodCycleCount(_ device: String) -> Int { goodCycles[device] ?? 0 }
    public func state(of device: String) -> DeviceHealth.State? { health[device]?.state }
}
