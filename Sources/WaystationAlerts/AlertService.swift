import Foundation
import Logging
import WaystationCore
import WaystationModbus
import WaystationPolling

/// Evaluates alert rules and the charging-slot interlocks after every poll, keeps alert state in
/// SQLite, and queues notifications in the outbox in the same transaction as the state change.
public actor AlertService {
    public enum Event: Sendable {
        case alert(AlertInstance, entered: AlertInstance.State)
        case interlock(slot: String, reason: String, ok: Bool)
    }

    public struct SilenceEntry: Sendable {
        public var id: Int64
        public var matchers: [String: String]
        public var until: Date
        public var by: String
        public var comment: String
    }

    private var config: StationConfig
    private let store: Store
    private let engine: PollingEngine
    private let logger: Logger
    private var alerts: [String: AlertInstance] = [:]
    private var silences: [SilenceEntry] = []
    private var latched: [String: String] = [:]
    /// Slots whose switch-off could not be confirmed: retried every tick.
    private var failingTrips: [String: String] = [:]
    private var listeners: [UUID: AsyncStream<Event>.Continuation] = [:]
    private let started = Date()

    public init(config: StationConfig, store: Store, engine: PollingEngine, logger: Logger) {
        self.config = config
        self.store = store
        self.engine = engine
        self.logger = logger
    }

    /// Restores alerts, silences and latched slots from the database.
    public func restore() async throws {
        for body in try await store.loadAlerts() {
            guard let json = JSON.parse(Data(body.utf8)), let a = AlertInstance(json: json) else { continue }
            alerts[a.fingerprint] = a
        }
        silences = try await loadSilences()
        latched = try await store.slotLocks()
        let firing = alerts.values.filter { $0.state == .firing }.count
        if firing > 0 || !latched.isEmpty {
            logger.notice(
                "alert state restored", metadata: ["firing": "\(firing)", "latched_slots": "\(latched.keys.sorted())"])
        }
    }

    private func loadSilences() async throws -> [SilenceEntry] {
        try await store.activeSilences(at: Date()).compactMap { row in
            guard let j = JSON.parse(Data(row.body.utf8)), let until = j["until"]?.number else { return nil }
            return SilenceEntry(
                id: row.id, matchers: j["matchers"]?.object?.compactMapValues(\.string) ?? [:],
                until: Date(timeIntervalSince1970: until), by: j["by"]?.string ?? "",
                comment: j["comment"]?.string ?? "")
        }
    }

    public func apply(_ new: StationConfig) {
        config = new
    }

    // MARK: Evaluation

    /// Latest good values, by device and point.
    /// - Parameter ids: only these devices (the hot path after one poll); nil for all.
    private func snapshot(of ids: Set<String>? = nil) async -> (
        values: [String: [String: Double]], states: [String: String], maintenance: Set<String>
    ) {
        var values: [String: [String: Double]] = [:]
        var states: [String: String] = [:]
        var maintenance: Set<String> = []
        var statuses: [StationMonitor.DeviceStatus] = []
        if let ids {
            for id in ids.sorted() { if let s = await engine.monitor.status(of: id) { statuses.append(s) } }
        } else {
            statuses = await engine.monitor.statuses()
        }
        for s in statuses {
            states[s.id] = s.health.state.rawValue
            if s.maintenance != nil { maintenance.insert(s.id) }
            var v: [String: Double] = [:]
            for p in s.points where p.state.error == nil {
                if let d = p.state.value?.doubleValue { v[p.spec.name] = d }
            }
            values[s.id] = v
        }
        return (values, states, maintenance)
    }

    /// Runs after a device's poll: interlocks first (same poll cycle), then its rules.
    public func afterPoll(device: String) async {
        // Only the devices this poll can affect: itself, and every interlock device if it is one.
        let interlockDevices = Set(
            config.slots.flatMap { s in [s.relay, s.temperature, s.current, s.batteryPresent].compactMap { $0?.device }
            }
                + config.smoke.map(\.device))
        let involved = interlockDevices.contains(device)
        let snap = await snapshot(of: involved ? interlockDevices.union([device]) : [device])
        if involved { await runInterlocks(snap.values) }
        await evaluateRules(devices: [device], snap)
    }

    /// Every second: `for` timers, keep_firing_for, reminders, interlock retries.
    public func tick() async {
        let snap = await snapshot()
        if !failingTrips.isEmpty || !latched.isEmpty { await runInterlocks(snap.values) }
        await evaluateRules(devices: config.devices.map(\.id), snap)
        await sendReminders()
    }

    public func run() async {
        while !Task.isCancelled {
            await tick()
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
    }

    private func evaluateRules(
        devices: [String],
        _ snap: (values: [String: [String: Double]], states: [String: String], maintenance: Set<String>)
    ) async {
        let now = Date()
        var changed: [AlertInstance] = []
        var notifications: [(AlertInstance, AlertInstance.State)] = []
        for id in devices {
            guard let device = config.device(id: id) else { continue }
            let values = snap.values[id] ?? [:]
            let state = snap.states[id] ?? "unknown"
            // Not polled yet since start: nothing is known, so nothing may fire or resolve (a
            // restored firing alert must not resolve just because the values are not in yet).
            if state == "unknown" { continue }
            for rule in config.rules(for: device) {
                var labels = rule.labels
                labels["alertname"] = rule.name
                labels["device"] = id
                labels["station"] = config.station.id
                labels["severity"] = rule.severity
                let fp = AlertInstance.fingerprint(labels)
                let value = rule.when.points.first.flatMap { values[$0] }
                let active =
                    !snap.maintenance.contains(id) && rule.when.evaluate(values: { values[$0] }, state: state)
                var a =
                    alerts[fp]
                    ?? AlertInstance(
                        rule: rule.name, device: id, labels: labels, severity: rule.severity, summary: rule.name)
                if !active && a.state == .inactive && alerts[fp] == nil { continue }
                if active {
                    a.value = value
                    a.summary = Self.render(
                        rule.summary ?? "\(rule.name) on {device}", device: id, value: value, rule: rule.name)
                }
                if let entered = AlertLifecycle.step(
                    &a, conditionTrue: active, forDuration: rule.forDuration, keepFiringFor: rule.keepFiringFor, at: now
                ) {
                    changed.append(a)
                    if entered == .firing || entered == .resolved { notifications.append((a, entered)) }
                    log(a, entered)
                    publish(.alert(a, entered: entered))
                }
                alerts[fp] = a
            }
        }
        await persist(changed, notifications)
    }

    static func render(_ template: String, device: String, value: Double?, rule: String) -> String {
        template.replacingOccurrences(of: "{device}", with: device)
            .replacingOccurrences(of: "{value}", with: value.map(PointValue.format) ?? "?")
            .replacingOccurrences(of: "{name}", with: rule)
    }

    private func log(_ a: AlertInstance, _ entered: AlertInstance.State) {
        let meta: Logger.Metadata = [
            "alert": "\(a.rule)", "device": "\(a.device)", "fingerprint": "\(a.fingerprint)", "summary": "\(a.summary)",
        ]
        switch entered {
        case .firing: logger.log(level: a.severity == "critical" ? .error : .warning, "alert firing", metadata: meta)
        case .resolved: logger.notice("alert resolved", metadata: meta)
        case .pending: logger.info("alert pending", metadata: meta)
        case .inactive: logger.info("alert no longer pending", metadata: meta)
        }
    }

    private func isSilenced(_ a: AlertInstance, at now: Date = Date()) -> Bool {
        silences.contains { s in s.until > now && s.matchers.allSatisfy { a.labels[$0.key] == $0.value } }
    }

    /// Saves changed alerts and queues their notifications in one transaction.
    private func persist(_ changed: [AlertInstance], _ notifications: [(AlertInstance, AlertInstance.State)]) async {
        guard !changed.isEmpty else { return }
        var outbox: [(target: String, payload: String)] = []
        let now = Date()
        for (a, entered) in notifications where !isSilenced(a) {
            for target in config.notify {
                outbox.append(
                    (
                        target.name,
                        Payloads.build(target: target, alert: a, status: entered, station: config.station, at: now)
                    ))
            }
            alerts[a.fingerprint]?.lastNotified = now
        }
        let rows = changed.map { a -> (fingerprint: String, state: String, body: String) in
            let current = alerts[a.fingerprint] ?? a
            return (current.fingerprint, current.state.rawValue, current.json.text)
        }
        do {
            try await store.saveAlerts(rows, outbox: outbox)
        } catch {
            logger.error("cannot save alert state", metadata: ["error": "\(error)"])
        }
    }

    private func sendReminders() async {
        guard let interval = config.notify.map(\.repeatInterval).min() else { return }
        let now = Date()
        var due: [AlertInstance] = []
        for (fp, a) in alerts where a.state == .firing && a.ackBy == nil && !isSilenced(a) {
            if let last = a.lastNotified, now.timeIntervalSince(last) >= interval.seconds {
                due.append(a)
                alerts[fp]?.lastNotified = now
            }
        }
        guard !due.isEmpty else { return }
        for a in due {
            logger.info("alert still firing: reminder", metadata: ["alert": "\(a.rule)", "device": "\(a.device)"])
        }
        await persist(due.map { alerts[$0.fingerprint] ?? $0 }, due.map { ($0, .firing) })
    }

    // MARK: Interlocks

    private func runInterlocks(_ values: [String: [String: Double]]) async {
        let actions = InterlockLogic.evaluate(slots: config.slots, smoke: config.smoke, latched: latched) { ref in
            values[ref.device]?[ref.point]
        }
        for action in actions where action.switchOff {
            await trip(action)
        }
        // Retry trips whose switch-off was not confirmed even if the latest values did not change.
        for (slotID, reason) in failingTrips where !actions.contains(where: { $0.slot == slotID }) {
            await trip(.init(slot: slotID, reason: reason, switchOff: true))
        }
    }

    /// Switches a slot's relay off, reads it back, latches it, raises a critical alert and audits.
    private func trip(_ action: InterlockLogic.Action) async {
        guard let slot = config.slots.first(where: { $0.id == action.slot }),
            let relayDevice = config.device(id: slot.relay.device),
            let point = relayDevice.profile.point(named: slot.relay.point),
            let client = await engine.clients[relayDevice.bus]
        else { return }
        var ok = false
        var failure = ""
        for attempt in 1...3 {
            do {
                try await client.writeCoil(unit: relayDevice.unit, address: point.address, value: false)
                let back = try await client.readBits(.coil, unit: relayDevice.unit, address: point.address, count: 1)
                if back == [false] {
                    ok = true
                    break
                }
                failure = "relay still reads on after switching it off (attempt \(attempt))"
            } catch {
                failure = "\(error)"
            }
        }
        let now = Date()
        let firstTime = latched[slot.id] == nil
        if ok {
            failingTrips[slot.id] = nil
            if firstTime {
                latched[slot.id] = action.reason
                do {
                    try await store.setSlotLock(
                        slot.id, reason: action.reason,
                        audit: .init(
                            at: now, uid: 0, user: "interlock", action: "interlock", target: slot.id, old: "on",
                            new: "off: \(action.reason)"))
                } catch {
                    logger.error("cannot record the slot lock", metadata: ["slot": "\(slot.id)", "error": "\(error)"])
                }
            }
            logger.critical(
                firstTime ? "interlock: slot switched off" : "interlock: latched slot found on; switched off again",
                metadata: ["slot": "\(slot.id)", "reason": "\(action.reason)"])
        } else {
            failingTrips[slot.id] = action.reason
            logger.critical(
                "interlock: could not switch the slot off; retrying",
                metadata: ["slot": "\(slot.id)", "reason": "\(action.reason)", "error": "\(failure)"])
        }
        await raiseSlotAlert(
            slot: slot, device: relayDevice.id, reason: action.reason, confirmedOff: ok, failure: failure)
        publish(.interlock(slot: slot.id, reason: action.reason, ok: ok))
    }

    private func slotLabels(_ slot: StationConfig.Slot, device: String) -> [String: String] {
        [
            "alertname": "SlotInterlock", "device": device, "slot": slot.id, "station": config.station.id,
            "severity": "critical",
        ]
    }

    private func raiseSlotAlert(
        slot: StationConfig.Slot, device: String, reason: String, confirmedOff: Bool, failure: String
    )
        async
    {
        let labels = slotLabels(slot, device: device)
        let fp = AlertInstance.fingerprint(labels)
        var a =
            alerts[fp]
            ?? AlertInstance(rule: "SlotInterlock", device: device, labels: labels, severity: "critical", summary: "")
        let wasEscalated = a.escalated
        a.summary =
            confirmedOff
            ? "Charging slot \(slot.id) switched off: \(reason)"
            : "Charging slot \(slot.id) could NOT be switched off (\(reason)): \(failure)"
        a.escalated = !confirmedOff || a.escalated
        var notify: [(AlertInstance, AlertInstance.State)] = []
        if a.state != .firing {
            _ = AlertLifecycle.step(&a, conditionTrue: true, forDuration: .zero, keepFiringFor: .zero, at: Date())
            notify.append((a, .firing))
            log(a, .firing)
            publish(.alert(a, entered: .firing))
        } else if !confirmedOff && !wasEscalated {
            // Escalation: tell the receivers again, now that the relay did not obey.
            notify.append((a, .firing))
        }
        alerts[fp] = a
        await persist([a], notify)
    }

    // MARK: Control

    public func list(state: AlertInstance.State?) -> [(AlertInstance, silenced: Bool)] {
        alerts.values.filter { state == nil ? $0.state != .inactive : $0.state == state }
            .sorted { ($0.firedAt ?? $0.activeSince ?? .distantPast) > ($1.firedAt ?? $1.activeSince ?? .distantPast) }
            .map { ($0, isSilenced($0)) }
    }

    public var activeCount: Int { alerts.values.filter { $0.state == .firing }.count }

    public enum ControlError: Error, Sendable {
        case notFound
        case notFiring(String)
        case slotNotFound
        case stillUnsafe(String)
        case relayFailed(String)
    }

    public func acknowledge(_ fingerprint: String, note: String, by user: String, uid: UInt32) async throws
        -> AlertInstance
    {
        guard var a = alerts[fingerprint] else { throw ControlError.notFound }
        guard a.state == .firing else { throw ControlError.notFiring(a.state.rawValue) }
        a.ackBy = user
        a.ackNote = note
        a.ackAt = Date()
        alerts[fingerprint] = a
        await persist([a], [])
        try await store.audit(
            .init(
                at: Date(), uid: uid, user: user, action: "acknowledge", target: "\(a.rule) \(a.device)", old: nil,
                new: note))
        publish(.alert(a, entered: a.state))
        return a
    }

    public func silence(matchers: [String: String], duration: Duration, comment: String, by user: String, uid: UInt32)
        async throws
        -> SilenceEntry
    {
        let until = Date().addingTimeInterval(duration.seconds)
        let body: JSON = [
            "matchers": .object(matchers.mapValues(JSON.string)), "until": .number(until.timeIntervalSince1970),
            "by": .string(user), "comment": .string(comment),
        ]
        let id = try await store.addSilence(body: body.text, until: until)
        let entry = SilenceEntry(id: id, matchers: matchers, until: until, by: user, comment: comment)
        silences.append(entry)
        try await store.audit(
            .init(
                at: Date(), uid: uid, user: user, action: "silence",
                target: matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                old: nil,
                new: "until \(until.formatted(.iso8601)): \(comment)"))
        return entry
    }

    /// Re-enables a latched slot: refused while its hazard is still there.
    public func enableSlot(_ slotID: String, by user: String, uid: UInt32) async throws {
        guard let slot = config.slots.first(where: { $0.id == slotID }),
            let relayDevice = config.device(id: slot.relay.device),
            let point = relayDevice.profile.point(named: slot.relay.point),
            let client = await engine.clients[relayDevice.bus]
        else { throw ControlError.slotNotFound }
        let snap = await snapshot()
        let check = InterlockLogic.evaluate(slots: [slot], smoke: config.smoke, latched: [:]) {
            snap.values[$0.device]?[$0.point]
        }
        if let hazard = check.first { throw ControlError.stillUnsafe(hazard.reason) }
        do {
            try await client.writeCoil(unit: relayDevice.unit, address: point.address, value: true)
        } catch {
            throw ControlError.relayFailed("\(error)")
        }
        let reason = latched[slotID]
        latched[slotID] = nil
        failingTrips[slotID] = nil
        try await store.setSlotLock(
            slotID, reason: nil,
            audit: .init(
                at: Date(), uid: uid, user: user, action: "enable-slot", target: slotID,
                old: reason.map { "off: \($0)" }, new: "on"))
        logger.notice("slot re-enabled", metadata: ["slot": "\(slotID)", "by": "\(user)"])
        let fp = AlertInstance.fingerprint(slotLabels(slot, device: relayDevice.id))
        if var a = alerts[fp], a.state == .firing {
            a.state = .resolved
            a.resolvedAt = Date()
            alerts[fp] = a
            log(a, .resolved)
            publish(.alert(a, entered: .resolved))
            await persist([a], [(a, .resolved)])
        }
    }

    public var latchedSlots: [String: String] { latched }

    // MARK: Subscribers

    public func subscribe() -> AsyncStream<Event> {
        let id = UUID()
        let (stream, c) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(256))
        listeners[id] = c
        c.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UUID) { listeners[id] = nil }

    private func publish(_ e: Event) {
        for l in listeners.values { l.yield(e) }
    }
}
