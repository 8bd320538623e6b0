#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationAlerts
import WaystationCore

extension StationService {
    func listAlerts(_ p: ListAlerts.Parameters) async throws -> ListAlerts.Reply {
        let limit = try Limits.count(p.limit, "limit", default: 200, max: 2000)
        let start = Int(try Limits.cursor(p.cursor) ?? 0)
        let list = await alerts.list(state: p.state)
        let page = list.dropFirst(start).prefix(limit)
        return ListAlerts.Reply(
            alerts: page.map { Wire.alert($0.0, silenced: $0.silenced) },
            latchedSlots: (await alerts.latchedSlots).sorted { $0.key < $1.key }.map {
                LatchedSlot(slot: $0.key, reason: $0.value.reason, kind: $0.value.kind)
            },
            next: start + limit < list.count ? String(start + limit) : nil)
    }

    func acknowledge(_ p: AcknowledgeAlert.Parameters, peer: Peer) async throws -> AcknowledgeAlert.Reply {
        do {
            let note = try Limits.text(p.note, "note", max: 500) ?? ""
            let a = try await alerts.acknowledge(p.fingerprint, note: note, by: peer.userName, uid: peer.uid)
            return AcknowledgeAlert.Reply(alert: Wire.alert(a, silenced: false))
        } catch AlertError.notFound {
            throw StationError.alertNotFound(fingerprint: p.fingerprint)
        } catch AlertError.notFiring(let state) {
            throw StationError.alertNotFiring(fingerprint: p.fingerprint, state: state.rawValue)
        }
    }

    func silence(_ p: Silence.Parameters, peer: Peer) async throws -> Silence.Reply {
        guard (1...16).contains(p.matchers.count) else {
            throw VarlinkError.invalidParameter("matchers", reason: "1 to 16 label=value matchers")
        }
        for (label, value) in p.matchers {
            _ = try Limits.text(label, "matchers", max: 64)
            _ = try Limits.text(value, "matchers", max: 128)
        }
        let comment = try Limits.text(p.comment, "comment", max: 500)
        guard let duration = DurationParser.parse(p.duration), duration > .zero else {
            throw VarlinkError.invalidParameter("duration", reason: "a duration with a unit, up to 10 years")
        }
        // A silence that can match nothing is a typo: refused with the names that would match.
        if let why = await alerts.silenceMismatch(p.matchers) {
            throw VarlinkError.invalidParameter("matchers", reason: why)
        }
        let s = try await alerts.silence(
            matchers: p.matchers, duration: duration, comment: comment ?? "", by: peer.userName, uid: peer.uid)
        return Silence.Reply(id: Int(s.id), until: Wire.iso(s.until))
    }

    func listSilences() async -> ListSilences.Reply {
        let now = Date()
        let list = await alerts.list(state: nil)
        return ListSilences.Reply(
            silences: await alerts.silences.map { s in
                SilenceInfo(
                    id: Int(s.id), matchers: s.matchers, until: LocalTime.station.iso8601(s.until), by: s.by,
                    comment: s.comment, silencing: list.filter { s.matches($0.0, at: now) }.count)
            })
    }

    func expireSilence(_ p: ExpireSilence.Parameters, peer: Peer) async throws -> Empty {
        guard try await alerts.expireSilence(id: Int64(p.id), by: peer.userName, uid: peer.uid) else {
            throw VarlinkError.invalidParameter(
                "id", reason: "no silence \(p.id) in force (see `waystationctl silences`)")
        }
        return Empty()
    }

    func enableSlot(_ p: EnableSlot.Parameters, peer: Peer) async throws -> Empty {
        do {
            try await alerts.enableSlot(p.slot, by: peer.userName, uid: peer.uid)
            return Empty()
        } catch AlertError.slotNotFound {
            throw StationError.slotNotFound(slot: p.slot)
        } catch AlertError.stillUnsafe(let why) {
            throw StationError.slotUnsafe(slot: p.slot, reason: why)
        } catch AlertError.relayFailed(let why) {
            throw StationError.deviceOffline(device: p.slot, error: why)
        }
    }
}
