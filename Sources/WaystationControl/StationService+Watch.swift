#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationAlerts
import WaystationCore
import WaystationPolling
import WaystationVisits

extension StationService {
    /// `Watch`: the current state, then (with `more`) every change until the client leaves. Visit
    /// events carry the rider's pseudonym only for admins.
    func watch(_ call: VarlinkCall, peer: Peer, _ replies: ReplySink) async throws {
        let snapshot = Watch.Reply(
            event: Event(kind: .snapshot, at: Wire.iso(Date()), devices: await summaries()))
        guard call.more else {
            replies.send(snapshot)
            return
        }
        let devices = polling.monitor.events.subscribe()
        let alertEvents = alerts.events.subscribe()
        let visitEvents = visits.events.subscribe()
        guard replies.send(snapshot, continues: true) else { return }
        let admin = peer.role == .admin
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await e in devices where !replies.send(Watch.Reply(event: Wire.event(e)), continues: true) {
                    return
                }
            }
            group.addTask {
                for await e in alertEvents
                where !replies.send(Watch.Reply(event: Wire.event(e, at: Date())), continues: true) {
                    return
                }
            }
            group.addTask {
                for await e in visitEvents
                where !replies.send(Watch.Reply(event: Wire.event(e, showWorker: admin, at: Date())), continues: true) {
                    return
                }
            }
            // A client that goes away mid-stream ends it at once (the I/O thread says so).
            group.addTask { await replies.untilClosed() }
            await group.next()
            group.cancelAll()
        }
    }
}
