#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore

/// The alert rules, their lifecycle, notifications and the charging-slot interlocks, as a pure state
/// machine: it is given a snapshot of the station and the time, and returns the actions to carry
/// out. No I/O, no clock of its own; `AlertService` does the rest.
public struct AlertEngine: Sendable {
    public private(set) var config: StationConfig
    /// Every known alert by fingerprint (inactive ones are forgotten when not stored).
    public private(set) var alerts: [String: AlertInstance] = [:]
    public private(set) var silences: [SilenceEntry] = []
    /// Slots held off by an interlock, with its kind and reason; kept until an admin re-enables them.
    public private(set) var latched: [String: InterlockLogic.Latch] = [:]
    /// Slots whose switch-off could not be confirmed: retried every tick.
    public private(set) var failingTrips: [String: (kind: InterlockLogic.Kind, reason: String)] = [:]
    /// The interlocks' own memory: unknown-since clocks and recent temperatures.
    private var interlock = InterlockLogic()
    /// Each device's rules with their labels and fingerprints, worked out once per config (rules are
    /// evaluated after every poll and every second).
    private(set) var compiled: [String: [CompiledRule]] = [:]
    /// Devices the interlocks read (relays, temperatures, currents, battery contacts, smoke).
    public private(set) var interlockDevices: Set<String> = []
    /// The station's own alerts' labels and fingerprints by name and severity (checked every second).
    private var systemKeys: [String: (labels: [String: String], fingerprint: String)] = [:]

    struct CompiledRule: Sendable {
        var rule: AlertRuleSpec
        var labels: [String: String]
        var fingerprint: String
    }

    public init(
        config: StationConfig, alerts: [AlertInstance] = [], silences: [SilenceEntry] = [],
        latched: [String: InterlockLogic.Latch] = [:]
    ) {
        self.config = config
        for a in alerts { self.alerts[a.fingerprint] = a }
        self.silences = silences
        self.latched = latched
        compile()
    }

    public mutating func reload(_ config: StationConfig) {
        self.config = config
        compile()
    }

    private mutating func compile() {
        interlockDevices = Set(
            config.slots.flatMap { s in [s.relay, s.temperature, s.current, s.batteryPresent].compactMap { $0?.device }
            }
                + config.interlock.smoke.map(\.device))
        compiled = [:]
        systemKeys = [:]
        for device in config.devices { compiled[device.id] = Self.compile(device, config) }
    }

    static func compile(_ device: StationConfig.Device, _ config: StationConfig) -> [CompiledRule] {
        config.rules(for: device).map { rule in
            var labels = rule.labels
            labels["alertname"] = rule.name
            labels["device"] = device.id
            labels["station"] = config.station.id
            if let district = config.station.district { labels["district"] = district }
            labels["severity"] = rule.severity.rawValue
            return CompiledRule(rule: rule, labels: labels, fingerprint: AlertInstance.fingerprint(labels))
        }
    }

    // MARK: Evaluation

    /// After one device's poll: the interlocks first (same poll cycle), then that device's rules.
    public mutating func afterPoll(device: String, snapshot: StationSnapshot, now: Date) -> [AlertAction] {
        var actions: [AlertAction] = []
        if interlockDevices.contains(device) { actions += interlocks(snapshot, now: now) }
        actions += evaluateRules(devices: [device], snapshot, now: now)
        return actions
    }

    /// Every second: the interlocks (a sensor goes stale without any poll), `for` timers,
    /// keep_firing_for, reminders, interlock retries.
    ///
    /// A rule's condition only changes with a poll (evaluated in `afterPoll`); what time alone moves
    /// is a pending alert's `for` and a firing one's `keep_firing_for`, so only devices with such an
    /// alert are evaluated here (`tickDevices`).
    public mutating func tick(snapshot: StationSnapshot, now: Date) -> [AlertAction] {
        var actions: [AlertAction] = []
        if !config.slots.isEmpty { actions += interlocks(snapshot, now: now) }
        actions += evaluateRules(devices: timedDevices.sorted(), snapshot, now: now)
        actions += reminders(now: now)
        return actions
    }

    /// Devices with a pending or firing alert: the ones whose alerts time alone can move.
    var timedDevices: Set<String> {
        var ids: Set<String> = []
        for a in alerts.values where a.state == .pending || a.state == .firing { ids.insert(a.device) }
        return ids
    }

    /// The devices `tick` reads: the interlocks' (when slots are configured) and `timedDevices`.
    public var tickDevices: Set<String> {
        config.slots.isEmpty ? timedDevices : timedDevices.union(interlockDevices)
    }

    /// The switch-offs the interlocks call for now, and retries of unconfirmed ones.
    mutating func interlocks(_ snapshot: StationSnapshot, now: Date) -> [AlertAction] {
        let decisions = interlock.evaluate(
            slots: config.slots, interlock: config.interlock, latched: latched, snapshot: snapshot, now: now)
        var actions: [AlertAction] = []
        for d in decisions where d.switchOff {
            if let slot = config.slots.first(where: { $0.id == d.slot }) {
                actions.append(.switchOff(slot: d.slot, relay: slot.relay, kind: d.kind, reason: d.reason))
            }
        }
        // Retry trips whose switch-off was not confirmed even if the latest values did not change.
        for (slotID, trip) in failingTrips.sorted(by: { $0.key < $1.key })
        where !decisions.contains(where: { $0.slot == slotID }) {
            if let slot = config.slots.first(where: { $0.id == slotID }) {
                actions.append(.switchOff(slot: slotID, relay: slot.relay, kind: trip.kind, reason: trip.reason))
            }
        }
        return actions
    }

    /// The outcome of a switch-off: latch, alert (escalated when it failed), log, publish.
    public mutating func tripped(
        slot id: String, kind: InterlockLogic.Kind, reason: String, confirmedOff ok: Bool, failure: String, now: Date
    ) -> [AlertAction] {
        guard let slot = config.slots.first(where: { $0.id == id }) else { return [] }
        var actions: [AlertAction] = []
        let meta = ["slot": id, "reason": reason]
        if ok {
            failingTrips[id] = nil
            let firstTime = latched[id] == nil
            if firstTime {
                let latch = InterlockLogic.Latch(kind, reason)
                latched[id] = latch
                actions.append(.latch(slot: id, latch))
            }
            actions.append(
                .log(
                    .critical,
                    firstTime ? "interlock: slot switched off" : "interlock: latched slot found on; switched off again",
                    meta.merging(["message_id": JournalMessageID.interlockCutSlot]) { a, _ in a }))
        } else {
            failingTrips[id] = (kind, reason)
            actions.append(
                .log(
                    .critical, "interlock: could not switch the slot off; retrying",
                    meta.merging(["error": failure]) { a, _ in a }))
        }
        actions += raiseSlotAlert(slot, kind: kind, reason: reason, confirmedOff: ok, failure: failure, now: now)
        actions.append(.publish(.interlock(slot: id, reason: reason, ok: ok)))
        return actions
    }

    func slotLabels(_ slot: StationConfig.Slot, _ kind: InterlockLogic.Kind) -> [String: String] {
        var labels = [
            "alertname": kind.alertName, "device": slot.relay.device, "slot": slot.id, "station": config.station.id,
            "severity": Severity.critical.rawValue,
        ]
        if let district = config.station.district { labels["district"] = district }
        return labels
    }

    mutating func raiseSlotAlert(
        _ slot: StationConfig.Slot, kind: InterlockLogic.Kind, reason: String, confirmedOff: Bool, failure: String,
        now: Date
    ) -> [AlertAction] {
        let labels = slotLabels(slot, kind)
        let fp = AlertInstance.fingerprint(labels)
        var a =
            alerts[fp]
            ?? AlertInstance(
                rule: kind.alertName, device: slot.relay.device, labels: labels, severity: .critical, summary: "")
        let wasEscalated = a.escalated
        a.summary =
            confirmedOff
            ? "Charging slot \(slot.id) switched off: \(reason)"
            : "Charging slot \(slot.id) could NOT be switched off (\(reason)): \(failure)"
        a.escalated = !confirmedOff || a.escalated
        var actions: [AlertAction] = []
        var notify: [(AlertInstance, AlertState)] = []
        if a.state != .firing {
            _ = AlertLifecycle.step(&a, conditionTrue: true, forDuration: .zero, keepFiringFor: .zero, at: now)
            notify.append((a, .firing))
            actions += entered(a, .firing)
        } else if !confirmedOff && !wasEscalated {
            // Escalation: tell the receivers again, now that the relay did not obey.
            notify.append((a, .firing))
        }
        alerts[fp] = a
        return actions + persist([a], notify, now: now)
    }

    /// Rules of the given devices against the snapshot.
    mutating func evaluateRules(devices: [String], _ snapshot: StationSnapshot, now: Date) -> [AlertAction] {
        var changed: [AlertInstance] = []
        var notifications: [(AlertInstance, AlertState)] = []
        var actions: [AlertAction] = []
        for id in devices {
            guard let device = config.device(id: id), let snap = snapshot.devices[id] else { continue }
            // Not polled yet since start: nothing is known, so nothing may fire or resolve (a restored
            // firing alert must not resolve just because the values are not in yet).
            if snap.state == .unknown { continue }
            // Good values looked up where they are (no table of them built per poll).
            let good = { (name: String) -> Double? in snap.points[name].flatMap { $0.failing ? nil : $0.value } }
            for c in compiled[id] ?? Self.compile(device, config) {
                let (rule, labels, fp) = (c.rule, c.labels, c.fingerprint)
                let value = rule.when.points.first.flatMap(good)
                let active = !snap.inMaintenance && rule.when.evaluate(values: good, state: snap.state)
                if !active && alerts[fp] == nil { continue }
                var a =
                    alerts[fp]
                    ?? AlertInstance(
                        rule: rule.name, device: id, labels: labels, severity: rule.severity, summary: rule.name)
                if active {
                    a.value = value
                    a.summary = Self.render(
                        rule.summary ?? "\(rule.name) on {device}", device: id, value: value, rule: rule.name,
                        active: now.timeIntervalSince(a.activeSince ?? now))
                }
                if let state = AlertLifecycle.step(
                    &a, conditionTrue: active, forDuration: rule.forDuration, keepFiringFor: rule.keepFiringFor, at: now
                ) {
                    changed.append(a)
                    if state == .firing || state == .resolved { notifications.append((a, state)) }
                    actions += entered(a, state)
                }
                alerts[fp] = a
            }
        }
        return actions + persist(changed, notifications, now: now)
    }

    /// The log line and the event for an alert entering a state.
    func entered(_ a: AlertInstance, _ state: AlertState) -> [AlertAction] {
        let meta = ["alert": a.rule, "device": a.device, "fingerprint": a.fingerprint, "summary": a.summary]
        let log: AlertAction =
            switch state {
            case .firing: .log(a.severity == .critical ? .error : .warning, "alert firing", meta)
            case .resolved: .log(.notice, "alert resolved", meta)
            case .pending: .log(.info, "alert pending", meta)
            case .inactive: .log(.info, "alert no longer pending", meta)
            }
        return [log, .publish(.alert(a, entered: state))]
    }

    /// Saves changed alerts and queues their notifications (unless silenced) in one action.
    mutating func persist(_ changed: [AlertInstance], _ notifications: [(AlertInstance, AlertState)], now: Date)
        -> [AlertAction]
    {
        guard !changed.isEmpty else { return [] }
        var outbox: [OutboxMessage] = []
        for (a, state) in notifications where !isSilenced(a, at: now) {
            for target in config.notify {
                outbox.append(
                    OutboxMessage(
                        target: target.name,
                        payload: Payloads.build(target: target, alert: a, status: state, station: config.station)))
            }
            alerts[a.fingerprint]?.lastNotified = now
        }
        let rows = changed.map { alerts[$0.fingerprint] ?? $0 }
        return [.save(alerts: rows, outbox: outbox)]
    }

    /// Reminders for alerts still firing, unacknowledged and not silenced.
    mutating func reminders(now: Date) -> [AlertAction] {
        guard let interval = config.notify.map(\.repeatInterval).min() else { return [] }
        var due: [AlertInstance] = []
        for (fp, a) in alerts.sorted(by: { $0.key < $1.key })
        where a.state == .firing && a.ackBy == nil && !isSilenced(a, at: now) {
            if let last = a.lastNotified, now.timeIntervalSince(last) >= interval.seconds {
                due.append(a)
                alerts[fp]?.lastNotified = now
            }
        }
        guard !due.isEmpty else { return [] }
        let logs = due.map {
            AlertAction.log(.info, "alert still firing: reminder", ["alert": $0.rule, "device": $0.device])
        }
        return logs + persist(due.map { alerts[$0.fingerprint] ?? $0 }, due.map { ($0, .firing) }, now: now)
    }

    // MARK: Control

    /// Acknowledges a firing alert: reminders stop.
    public mutating func acknowledge(_ fingerprint: String, note: String, by user: String, now: Date)
        throws(AlertError) -> (AlertInstance, [AlertAction])
    {
        guard var a = alerts[fingerprint] else { throw .notFound }
        guard a.state == .firing else { throw .notFiring(a.state) }
        a.ackBy = user
        a.ackNote = note
        a.ackAt = now
        alerts[fingerprint] = a
        return (a, persist([a], [], now: now) + [.publish(.alert(a, entered: a.state))])
    }

    public mutating func add(_ silence: SilenceEntry) {
        silences.append(silence)
    }

    /// Ends a silence now.
    public mutating func removeSilence(id: Int64) {
        silences.removeAll { $0.id == id }
    }

    /// Forgets expired silences.
    public mutating func dropSilences(before now: Date) {
        silences.removeAll { $0.until <= now }
    }

    /// A slot was switched back on by an admin: it is no longer latched and its alerts resolve.
    public mutating func enabled(_ slotID: String, now: Date) -> [AlertAction] {
        latched[slotID] = nil
        failingTrips[slotID] = nil
        guard let slot = config.slots.first(where: { $0.id == slotID }) else { return [] }
        var actions: [AlertAction] = []
        for kind in InterlockLogic.Kind.allCases {
            let fp = AlertInstance.fingerprint(slotLabels(slot, kind))
            guard var a = alerts[fp], a.state == .firing else { continue }
            a.state = .resolved
            a.resolvedAt = now
            alerts[fp] = a
            actions += entered(a, .resolved) + persist([a], [(a, .resolved)], now: now)
        }
        return actions
    }

    /// A station-level condition (storage failing, storage recovered): an alert on device "station"
    /// that fires while `active` and resolves when it is not.
    public mutating func system(
        _ name: String, active: Bool, severity: Severity, summary: String, now: Date
    ) -> [AlertAction] {
        let key = "\(name)/\(severity.rawValue)"
        let (labels, fp): ([String: String], String)
        if let known = systemKeys[key] {
            (labels, fp) = known
        } else {
            var l = [
                "alertname": name, "device": "station", "station": config.station.id, "severity": severity.rawValue,
            ]
            if let district = config.station.district { l["district"] = district }
            (labels, fp) = (l, AlertInstance.fingerprint(l))
            systemKeys[key] = (labels, fp)
        }
        if !active && alerts[fp] == nil { return [] }
        var a =
            alerts[fp]
            ?? AlertInstance(rule: name, device: "station", labels: labels, severity: severity, summary: summary)
        if active { a.summary = summary }
        guard
            let state = AlertLifecycle.step(
                &a, conditionTrue: active, forDuration: .zero, keepFiringFor: .zero, at: now)
        else {
            alerts[fp] = a
            return []
        }
        alerts[fp] = a
        return entered(a, state) + persist([a], state == .firing || state == .resolved ? [(a, state)] : [], now: now)
    }

    /// Holds every slot off (latched) with a reason: after the database had to be recovered, nobody
    /// knows which slots were held off, so all are, until an admin re-enables each one.
    public mutating func latchAll(_ latch: InterlockLogic.Latch) -> [AlertAction] {
        var actions: [AlertAction] = []
        for slot in config.slots where latched[slot.id] == nil {
            latched[slot.id] = latch
            actions.append(.latch(slot: slot.id, latch))
        }
        return actions
    }

    /// Forgets resolved alerts older than `before` (they are pruned from storage too).
    public mutating func forgetResolved(before: Date) {
        alerts = alerts.filter { $0.value.state != .resolved || ($0.value.resolvedAt ?? before) >= before }
    }
}
