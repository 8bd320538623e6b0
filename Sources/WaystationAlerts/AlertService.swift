import Foundation
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationStorage

/// Carries out what the `AlertEngine` decides: after every poll (interlocks first, in the same poll
/// cycle) and every second. It reads the station through a snapshot source, switches relays
/// through `RelayControl`, keeps alert state and the outbox in SQLite, and tells subscribers.
public actor AlertService: Service, Reloadable {
    private var engine: AlertEngine
    private let store: AlertStore
    private let snapshots: any StationSnapshotSource
    private let relays: any RelayControl
    private let logger: Logger
    /// Alert transitions and interlock actions as they happen (for `Watch`).
    public nonisolated let events = Broadcaster<AlertEvent>()
    /// The time, injectable for tests.
    private let now: @Sendable () -> Date

    public init(
        config: StationConfig, store: AlertStore, snapshots: any StationSnapshotSource, relays: any RelayControl,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.engine = AlertEngine(config: config)
        self.store = store
        self.snapshots = snapshots
        self.relays = relays
        self.logger = logger
        self.now = now
    }

    /// Restores alerts, silences and latched slots from the database.
    public func restore() async throws {
        let alerts = try await store.loadAlerts()
        let silences = try await store.activeSilences(at: now())
        let latched = try await store.slotLocks()
        engine = AlertEngine(config: engine.config, alerts: alerts, silences: silences, latched: latched)
        let firing = alerts.filter { $0.state == .firing }.count
        if firing > 0 || !latched.isEmpty {
            logger.notice(
                "alert state restored", metadata: ["firing": "\(firing)", "latched_slots": "\(latched.keys.sorted())"])
        }
    }

    public func reload(_ config: StationConfig) {
        engine.reload(config)
    }

    /// Runs after a device's poll.
    public func afterPoll(device: String) async {
        let involved = engine.interlockDevices.contains(device)
        let snap = await snapshots.snapshot(of: involved ? engine.interlockDevices.union([device]) : [device])
        await perform(engine.afterPoll(device: device, snapshot: snap, now: now()))
    }

    /// Every second: `for` timers, keep_firing_for, reminders, interlock retries.
    public func tick() async {
        let snap = await snapshots.snapshot(of: nil)
        engine.dropSilences(before: now())
        await perform(engine.tick(snapshot: snap, now: now()))
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.tick()
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Carries out actions in order; a switch-off's outcome is fed back to the engine at once.
    private func perform(_ actions: [AlertAction]) async {
        for action in actions {
            switch action {
            case .save(let alerts, let outbox):
                do {
                    try await store.save(alerts, outbox: outbox, at: now())
                } catch {
                    logger.error("cannot save alert state", metadata: ["error": "\(error)"])
                }
            case .switchOff(let slot, let relay, let kind, let reason):
                let (ok, failure) = await switchOff(relay)
                await perform(
                    engine.tripped(
                        slot: slot, kind: kind, reason: reason, confirmedOff: ok, failure: failure, now: now()))
            case .latch(let slot, let reason):
                do {
                    try await store.setSlotLock(
                        slot, reason: reason,
                        audit: AuditRecord(
                            at: now(), uid: 0, user: "interlock", action: "interlock", target: slot, old: "on",
                            new: "off: \(reason)"))
                } catch {
                    logger.error("cannot record the slot lock", metadata: ["slot": "\(slot)", "error": "\(error)"])
                }
            case .publish(let event):
                events.publish(event)
            case .log(let level, let message, let metadata):
                logger.log(level: level, "\(message)", metadata: metadata.mapValues { .string($0) })
            }
        }
    }

    /// Switch off and read back, up to three times.
    private func switchOff(_ relay: StationConfig.PointRef) async -> (Bool, String) {
        var failure = ""
        for attempt in 1...3 {
            do {
                if try await relays.setRelay(relay, on: false) == false { return (true, "") }
                failure = "relay still reads on after switching it off (attempt \(attempt))"
            } catch {
                failure = "\(error)"
            }
        }
        return (false, failure)
    }

    // MARK: Control

    public func list(state: AlertState?) -> [(AlertInstance, silenced: Bool)] {
        engine.list(state: state, now: now())
    }

    public var activeCount: Int { engine.firingCount }

    public var latchedSlots: [String: String] { engine.latched }

    public func acknowledge(_ fingerprint: String, note: String, by user: String, uid: UInt32) async throws
        -> AlertInstance
    {
        let (a, actions) = try engine.acknowledge(fingerprint, note: note, by: user, now: now())
        await perform(actions)
        try await store.database.audit(
            AuditRecord(
                at: now(), uid: uid, user: user, action: "acknowledge", target: "\(a.rule) \(a.device)", old: nil,
                new: note))
        return a
    }

    public func silence(matchers: [String: String], duration: Duration, comment: String, by user: String, uid: UInt32)
        async throws -> SilenceEntry
    {
        let until = now().addingTimeInterval(duration.seconds)
        let entry = try await store.addSilence(matchers: matchers, until: until, by: user, comment: comment)
        engine.add(entry)
        try await store.database.audit(
            AuditRecord(
                at: now(), uid: uid, user: user, action: "silence",
                target: matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                old: nil, new: "until \(until.formatted(.iso8601)): \(comment)"))
        return entry
    }

    /// Re-enables a latched slot: refused while its hazard is still there.
    public func enableSlot(_ slotID: String, by user: String, uid: UInt32) async throws {
        let snap = await snapshots.snapshot(of: nil)
        let slot = try engine.checkEnable(slotID, snapshot: snap, now: now())
        do {
            _ = try await relays.setRelay(slot.relay, on: true)
        } catch {
            throw AlertError.relayFailed("\(error)")
        }
        let reason = engine.latched[slotID]
        try await store.setSlotLock(
            slotID, reason: nil,
            audit: AuditRecord(
                at: now(), uid: uid, user: user, action: "enable-slot", target: slotID,
                old: reason.map { "off: \($0)" }, new: "on"))
        logger.notice("slot re-enabled", metadata: ["slot": "\(slotID)", "by": "\(user)"])
        await perform(engine.enabled(slotID, now: now()))
    }

    /// Deletes old resolved alerts, delivered notifications and expired silences (retention).
    public func prune(before: Date) async throws -> Int {
        engine.forgetResolved(before: before)
        return try await store.prune(before: before)
    }
}
