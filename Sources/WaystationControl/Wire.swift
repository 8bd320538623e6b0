#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationAlerts
import WaystationStorage
import WaystationCore
import WaystationPolling
import WaystationVisits

/// Domain values as the control interface carries them.
enum Wire {
    /// ISO 8601 in the station's time zone, with its offset (`2026-12-07T05:40:59+08:00`).
    static func iso(_ date: Date) -> String { LocalTime.station.iso8601(date) }

    static func summary(_ s: StationMonitor.DeviceStatus) -> DeviceSummary {
        DeviceSummary(
            id: s.id, kind: s.kind.rawValue, profile: s.profile, bus: s.bus, unit: s.unit, state: s.health.state,
            maintenance: s.maintenance != nil, maintenanceReason: s.maintenance?.reason,
            lastGood: (s.health.lastGood ?? s.lastGoodStored).map(iso), lastError: s.health.lastError)
    }

    static func reading(_ spec: PointSpec, _ state: PointState, now: Date) -> PointReading {
        let quality = state.value == nil && state.error == nil ? "none" : state.quality(at: now).name
        let value = state.value?.doubleValue
        return PointReading(
            name: spec.name, value: value, label: value.flatMap { label(spec, $0) }, unit: spec.unit,
            quality: quality, error: state.error, age: state.age(at: now).map { ($0 * 10).rounded() / 10 },
            writable: spec.writable, min: spec.min, max: spec.max)
    }

    /// A coded value's label; switches and contacts read true or false.
    static func label(_ spec: PointSpec, _ value: Double) -> String? {
        if spec.type == .bool { return value != 0 ? "true" : "false" }
        return spec.label(for: value)
    }

    static func live(_ spec: PointSpec, _ value: PointValue) -> PointReading {
        let number = value.doubleValue
        return PointReading(
            name: spec.name, value: number, label: number.flatMap { label(spec, $0) }, unit: spec.unit,
            quality: number == nil ? "none" : "good", error: nil, age: 0, writable: spec.writable, min: spec.min,
            max: spec.max)
    }

    static func audit(_ r: AuditRecord) -> AuditEntry {
        AuditEntry(
            at: iso(r.date), uid: Int(r.uid), user: r.user, action: r.action, target: r.target, old: r.old, new: r.new)
    }

    /// A visit; the pseudonym only for admins.
    static func visit(_ v: VisitRecord, showWorker: Bool = true) -> Visit {
        Visit(
            id: Int(v.id ?? 0), worker: showWorker ? v.worker : "", category: v.category, source: v.source,
            checkedIn: iso(v.checkedInDate), checkedOut: v.checkedOutDate.map(iso), closedBy: v.closedBy)
    }

    static func alert(_ a: AlertInstance, silenced: Bool) -> Alert {
        Alert(
            fingerprint: a.fingerprint, name: a.rule, device: a.device, state: a.state, severity: a.severity,
            summary: a.summary, labels: a.labels, value: a.value.flatMap { $0.isFinite ? $0 : nil },
            since: (a.firedAt ?? a.activeSince).map(iso), resolvedAt: a.resolvedAt.map(iso), acknowledgedBy: a.ackBy,
            ackNote: a.ackNote, silenced: silenced, escalated: a.escalated)
    }

    static func event(_ e: MonitorEvent) -> Event {
        switch e {
        case .deviceState(let device, let t):
            Event(
                kind: .deviceState, at: iso(t.at), device: device, from: t.from.rawValue, to: t.to.rawValue,
                cause: t.cause)
        case .maintenance(let device, let reason, let at):
            Event(kind: .maintenance, at: iso(at), device: device, to: reason == nil ? "off" : "on", cause: reason)
        case .reload(let at, let ok, let detail):
            Event(kind: .reload, at: iso(at), to: ok ? "applied" : "refused", cause: detail)
        }
    }

    static func event(_ e: AlertEvent, at now: Date) -> Event {
        switch e {
        case .alert(let a, let entered):
            Event(kind: .alert, at: iso(now), device: a.device, to: entered.rawValue, cause: "\(a.rule): \(a.summary)")
        case .interlock(let slot, let reason, let ok):
            Event(kind: .interlock, at: iso(now), device: slot, to: ok ? "off" : "switch-off failed", cause: reason)
        }
    }

    static func event(_ e: VisitBook.Event, showWorker: Bool, at now: Date) -> Event {
        switch e {
        case .checkIn(let v, let occupancy, let full):
            Event(
                kind: .checkIn, at: iso(v.checkedInDate), visit: visit(v, showWorker: showWorker), occupancy: occupancy
            )
            .with(cause: full ? "station full" : nil)
        case .checkOut(let v, let occupancy):
            Event(
                kind: .checkOut, at: iso(v.checkedOutDate ?? now), visit: visit(v, showWorker: showWorker),
                occupancy: occupancy)
        case .autoClosed(let v):
            Event(kind: .visitClosed, at: iso(now), cause: "maximum stay", visit: visit(v, showWorker: showWorker))
        }
    }
}

extension Event {
    func with(cause: String?) -> Event {
        var copy = self
        copy.cause = cause
        return copy
    }
}
