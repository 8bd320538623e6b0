#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationPolling
import WaystationStorage

extension StationService {
    /// At most this many steps in one reply.
    static let maxHistorySteps = 10_000

    func history(_ p: GetHistory.Parameters) async throws -> GetHistory.Reply {
        let d = try await device(p.device)
        let spec = try point(d, p.point)
        let now = Date()
        let to = try date(p.to, "to") ?? now
        let from: Date
        if let f = try date(p.from, "from") {
            guard p.since == nil else { throw VarlinkError.invalidParameter("since", reason: "either since or from") }
            from = f
        } else {
            let since = try duration(p.since ?? "1h", "since")
            from = to.addingTimeInterval(-since)
        }
        guard from < to else { throw VarlinkError.invalidParameter("from", reason: "before to") }
        let toS = Int64(to.timeIntervalSince1970.rounded(.up))
        var fromS = Int64(from.timeIntervalSince1970.rounded(.down))
        let step = try p.step.map { Int64(try duration($0, "step")) } ?? HistorySteps.defaultStep(span: toS - fromS)
        guard step >= 1 else { throw VarlinkError.invalidParameter("step", reason: "at least 1s") }
        guard (toS - fromS) / step < Self.maxHistorySteps else {
            throw VarlinkError.invalidParameter("step", reason: "at most \(Self.maxHistorySteps) steps: a longer step")
        }
        // Steps fall on the station's clock: whole minutes, hours, local days.
        let offset = Int64(LocalTime.station.offset(at: from))
        fromS = ((fromS + offset) / step) * step - offset
        let range = Date(timeIntervalSince1970: TimeInterval(fromS))
        let stored = try await polling.history.range(
            device: d.id, point: spec.name, from: range, to: Date(timeIntervalSince1970: TimeInterval(toS)))
        let memory = await polling.monitor.unflushed(device: d.id, point: spec.name)
        let steps = HistorySteps.summarise(
            samples: stored.samples + memory.samples, minutes: stored.minutes + memory.minutes, from: fromS, to: toS,
            step: step, offset: offset)
        let local = LocalTime.station
        return GetHistory.Reply(
            device: d.id, point: spec.name, unit: spec.unit, from: local.iso8601(range), to: local.iso8601(to),
            step: Int(step),
            steps: steps.map {
                HistoryStep(
                    at: local.iso8601(Date(timeIntervalSince1970: TimeInterval($0.start))), min: $0.min,
                    avg: $0.avg, max: $0.max, count: $0.count)
            })
    }

    func events(_ p: ListEvents.Parameters) async throws -> ListEvents.Reply {
        let limit = try Limits.count(p.limit, "limit", default: 100, max: 5000)
        let c = await config.current
        if let id = p.device { _ = try await device(id) }
        var since: Date?
        if let text = p.since {
            if let d = Self.parseDate(text) {
                since = d
            } else {
                since = Date().addingTimeInterval(-(try duration(text, "since")))
            }
        }
        let slotDevice = Dictionary(c.slots.map { ($0.id, $0.relay.device) }, uniquingKeysWith: { a, _ in a })
        let local = LocalTime.station
        var events: [(at: Date, event: StationEvent)] = try await polling.history.transitions(
            device: p.device, since: since, limit: limit
        ).map {
            ($0.at, StationEvent(at: "", kind: "state", device: $0.device, from: $0.from, to: $0.to, detail: $0.cause))
        }
        let sinceMS = since.map(StationDatabase.ms) ?? 0
        let audited = try await database.read { db in
            try AuditRecord.fetchAll(
                db,
                sql: """
                    SELECT * FROM audit WHERE at >= ? AND action IN ('interlock', 'enable-slot', 'maintenance')
                    ORDER BY id DESC LIMIT 5000
                    """, arguments: [sinceMS])
        }
        for e in audited {
            let slot = slotDevice[e.target] != nil ? e.target : nil
            let dev = slot.flatMap { slotDevice[$0] } ?? e.target.split(separator: ".").first.map(String.init)
            if let wanted = p.device, dev != wanted { continue }
            events.append(
                (
                    e.date,
                    StationEvent(
                        at: "", kind: e.action, device: dev, slot: slot, from: e.old, to: e.new,
                        detail: nil)
                ))
        }
        events.sort { $0.at > $1.at }
        return ListEvents.Reply(
            events: events.prefix(limit).map {
                var e = $0.event
                e.at = local.iso8601($0.at)
                return e
            })
    }

    /// A duration parameter in seconds.
    func duration(_ text: String, _ key: String) throws(VarlinkError) -> TimeInterval {
        guard let d = DurationParser.parse(text), d > .zero else {
            throw .invalidParameter(key, reason: "a duration such as 30m, 6h or 2d")
        }
        return d.seconds
    }
}
