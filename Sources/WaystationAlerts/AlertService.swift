#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationStorage

/// Carries out what the `AlertEngine` decides: after every poll (interlocks first, in the same poll
/// cycle) and every second. It reads the station through a snapshot source, switches relays
/// through `RelayControl`, keeps alert state and the outbox in SQLite, and tells subscribers.
public actor AlertService: Service, Reloadable, PollObserver {
    /// On the station's thread with the monitor: a poll's evaluation is no thread switch.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        station.asUnownedSerialExecutor()
    }
    /// The station's thread, given by the composition root.
    private nonisolated let station: ThreadExecutor
    private var engine: AlertEngine
    private let store: AlertStore
    private let snapshots: any StationSnapshotSource
    private let relays: any RelayControl
    private let logger: Logger
    /// Alert transitions and interlock actions as they happen (for `Watch`).
    public nonisolated let events = Broadcaster<AlertEvent>()
    /// The time, injectable for tests.
    private let now: @Sendable () -> Date
    /// Alert state and notifications not yet saved (the disk was full or failing): kept in order and
    /// retried every second, before anything newer, so nothing is lost or reordered.
    private var unsaved: [(alerts: [AlertInstance], outbox: [OutboxMessage], at: Date)] = []
    private var lastSaveError: String?
    private var unsavedLatches: [(slot: String, latch: InterlockLogic.Latch, at: Date)] = []
    /// When `tick` last ran, and when a poll last came (monotonic).
    private var lastTick: ContinuousClock.Instant?
    private var lastPoll: ContinuousClock.Instant?
    /// Set by `run`: only the running service ticks from polls (tests that drive `tick` keep control).
    private var running = false

    private func recordLatch(_ slot: String, _ latch: InterlockLogic.Latch, at: Date? = nil) async -> Bool {
        do {
            try await store.setSlotLock(
                slot, latch,
                audit: AuditRecord(
                    at: at ?? now(), uid: 0, user: "interlock", action: "interlock", target: slot, old: "on",
                    new: "off: \(latch.reason)"))
            return true
        } catch {
            logger.error(
                "cannot record the slot lock; held in memory and retried",
                metadata: ["slot": "\(slot)", "error": "\(error)"])
            return false
        }
    }

    public init(
        config: StationConfig, store: AlertStore, snapshots: any StationSnapshotSource, relays: any RelayControl,
        logger: Logger, station: ThreadExecutor, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.station = station
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
        // The second's tick rides on a poll while polls come (on a station, every second): the
        // service then needs no timer of its own waking it (see `run`).
        // (Polls come a second apart; 0.9 s lets a poll that comes a hair early still tick.)
        let t = ContinuousClock.now
        lastPoll = t
        if running, lastTick.map({ t - $0 >= .milliseconds(900) }) ?? true { await tick() }
    }

    /// Every second: storage health, `for` timers, keep_firing_for, reminders, interlock retries,
    /// and unsaved alert state retried.
    public func tick() async {
        lastTick = ContinuousClock.now
        let wanted = engine.tickDevices
        let snap = wanted.isEmpty ? StationSnapshot() : await snapshots.snapshot(of: wanted)
        let t = now()
        engine.dropSilences(before: t)
        await flushUnsaved()
        let storage = store.database.health.status
        var actions = engine.system(
            "StorageFailing", active: !storage.ok, severity: .critical,
            summary: "station storage failing: \(storage.lastError ?? "unknown error")", now: t)
        if let aside = storage.recoveredFrom {
            actions += engine.system(
                "StorageRecovered", active: true, severity: .warning,
                summary: "the database was damaged at start; kept as \(aside) and a fresh one started", now: t)
        }
        await perform(actions + engine.tick(snapshot: snap, now: t))
    }

    /// Latches every slot (after a database recovery): they stay off until an admin re-enables them.
    public func latchAll(kind: InterlockLogic.Kind, reason: String) async {
        await perform(engine.latchAll(InterlockLogic.Latch(kind, reason)))
    }

    /// Retries unsaved latches and alert state, oldest first; stops at the first failure.
    private func flushUnsaved() async {
        while let first = unsavedLatches.first {
            guard await recordLatch(first.slot, first.latch, at: first.at) else { return }
            unsavedLatches.removeFirst()
        }
        while let first = unsaved.first {
            do {
                try await store.save(first.alerts, outbox: first.outbox, at: first.at)
                unsaved.removeFirst()
                if unsaved.isEmpty {
                    logger.notice("alert state saved again after a storage failure")
                    lastSaveError = nil
                }
            } catch {
                return
            }
        }
    }

    public func run() async throws {
        // The timer is kept by the station's thread, which wakes for polls anyway (no pool thread).
        let station = self.station
        await withTaskExecutorPreference(station) {
            try? await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    let (wait, tolerance) = await self.standIn()
                    try await station.sleep(for: wait, tolerance: tolerance)
                }
            }
        }
    }

    /// The timer's turn, and how long to sleep. While polls come, they tick and the timer only looks
    /// every 5 s (at the next poll's wake-up from then), ticking itself only if they missed (a
    /// station's idle wake-ups cost CPU); when polls stop (no device due, every bus down and backing
    /// off), it ticks every second again within 5 s.
    private func standIn() async -> (Duration, tolerance: Duration) {
        running = true
        let t = ContinuousClock.now
        let polling = lastPoll.map { t - $0 < .seconds(2) } ?? false
        // While polls come the timer leaves them the tick, or it would win by a hair every second.
        if lastTick.map({ t - $0 >= (polling ? .milliseconds(1500) : .seconds(1)) }) ?? true { await tick() }
        return polling ? (.seconds(5), .seconds(1)) : (.seconds(1), .zero)
    }

    /// Carries out actions in order; a switch-off's outcome is fed back to the engine at once.
    private func perform(_ actions: [AlertAction]) async {
        for action in actions {
            switch action {
            case .save(let alerts, let outbox):
                let at = now()
                if unsaved.isEmpty {
                    do {
                        try await store.save(alerts, outbox: outbox, at: at)
                        continue
                    } catch {
                        let text = "\(error)"
                        if text != lastSaveError {
                            logger.error(
                                "cannot save alert state; kept in memory and retried", metadata: ["error": "\(text)"])
                            lastSaveError = text
                        }
                    }
                }
                unsaved.append((alerts, outbox, at))
                if unsaved.count > 10_000 {
                    unsaved.removeFirst()
                    logger.error("alert state waiting to be saved passed 10,000 changes; the oldest was dropped")
                }
            case .switchOff(let slot, let relay, let kind, let reason):
                let (ok, failure) = await switchOff(relay)
                await perform(
                    engine.tripped(
                        slot: slot, kind: kind, reason: reason, confirmedOff: ok, failure: failure, now: now()))
            case .latch(let slot, let latch):
                // Held in memory at once (the engine has it); recorded durably now, or retried.
                if !(await recordLatch(slot, latch)) { unsavedLatches.append((slot, latch, now())) }
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

    public var latchedSlots: [String: InterlockLogic.Latch] { engine.latched }

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

    /// Silences in force, oldest first.
    public var silences: [SilenceEntry] {
        let t = now()
        return engine.silences.filter { $0.until > t }.sorted { $0.id < $1.id }
    }

    /// Why matchers would silence nothing, with the names that would match; nil when they match.
    public func silenceMismatch(_ matchers: [String: String]) -> String? { engine.silenceMismatch(matchers) }

    /// Ends a silence now (audited); false when there is no such silence in force.
    public func expireSilence(id: Int64, by user: String, uid: UInt32) async throws -> Bool {
        guard let s = try await store.expireSilence(id: id, at: now()) else { return false }
        engine.removeSilence(id: id)
        try await store.database.audit(
            AuditRecord(
                at: now(), uid: uid, user: user, action: "silence-expire",
                target: s.matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                old: "until \(s.until.formatted(.iso8601))", new: "expired"))
        return true
    }

    /// Re-enables a latched slot: refused while its hazard is still there.
    public func enableSlot(_ slotID: String, by user: String, uid: UInt32) async throws {
        let snap = await snapshots.snapshot(of: nil)
        let slot = try engine.checkEnable(slotID, snapshot: snap, now: now())
        // Unlatch first (durably, then in memory), switch on last: a poll that runs while this
        // waits must not find the slot latched yet on (it would switch it off again and leave it
        // off and unlatched while the admin is told it is on). If switching on fails, the slot is
        // unlatched and off: safe, and the admin is told.
        let held = engine.latched[slotID]
        try await store.setSlotLock(
            slotID, nil,
            audit: AuditRecord(
                at: now(), uid: uid, user: user, action: "enable-slot", target: slotID,
                old: held.map { "off: \($0.reason)" }, new: "on"))
        unsavedLatches.removeAll { $0.slot == slotID }
        await perform(engine.enabled(slotID, now: now()))
        do {
            _ = try await relays.setRelay(slot.relay, on: true)
        } catch {
            logger.error(
                "slot unlatched but switching it on failed; it stays off",
                metadata: ["slot": "\(slotID)", "error": "\(error)"])
            throw AlertError.relayFailed("\(error)")
        }
        logger.notice("slot re-enabled", metadata: ["slot": "\(slotID)", "by": "\(user)"])
    }

    /// Deletes old resolved alerts, delivered notifications and expired silences (retention).
    /// At most `limit(count)` rows of each table go in one call (`RetentionClock.limit`).
    public func prune(before: Date, limit: @escaping @Sendable (Int) -> Int = { $0 }) async throws -> Int {
        engine.forgetResolved(before: before)
        return try await store.prune(before: before, limit: limit)
    }
}
