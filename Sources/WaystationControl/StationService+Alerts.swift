import Foundation
import WaystationAlerts
import WaystationCore

extension StationService {
    func listAlerts(_ p: ListAlerts.Parameters) async -> ListAlerts.Reply {
        let list = await alerts.list(state: p.state)
        return ListAlerts.Reply(
            alerts: list.map { Wire.alert($0.0, silenced: $0.silenced) },
            latchedSlots: (await alerts.latchedSlots).sorted { $0.key < $1.key }.map {
                LatchedSlot(slot: $0.key, reason: $0.value)
            })
    }

    func acknowledge(_ p: AcknowledgeAlert.Parameters, peer: Peer) async throws -> AcknowledgeAlert.Reply {
        do {
            let a = try await alerts.acknowledge(p.fingerprint, note: p.note ?? "", by: peer.userName, uid: peer.uid)
            return AcknowledgeAlert.Reply(alert: Wire.alert(a, silenced: false))
        } catch AlertError.notFound {
            throw StationError.alertNotFound(fingerprint: p.fingerprint)
        } catch AlertError.notFiring(let state) {
            throw StationError.alertNotFiring(fingerprint: p.fingerprint, state: state.rawValue)
        }
    }

    func silence(_ p: Silence.Parameters, peer: Peer) async throws -> Silence.Reply {
        guard !p.matchers.isEmpty else { throw VarlinkError.invalidParameter("matchers", reason: "at least one") }
        guard let duration = DurationParser.parse(p.duration), duration > .zero else {
            throw VarlinkError.invalidParameter("duration", reason: "a duration with a unit, up to 10 years")
        }
        let s = try await alerts.silence(
            matchers: p.matchers, duration: duration, comment: p.comment ?? "", by: peer.userName, uid: peer.uid)
        return Silence.Reply(id: Int(s.id), until: Wire.iso(s.until))
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
