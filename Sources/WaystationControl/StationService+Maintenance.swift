#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import WaystationPolling
import WaystationStorage

extension StationService {
    func setMaintenance(_ p: SetMaintenance.Parameters, peer: Peer) async throws -> SetMaintenance.Reply {
        let d = try await device(p.device)
        let earlier = await polling.monitor.status(of: d.id)?.maintenance?.reason
        // Without a new reason, a device already in maintenance keeps the one it was given.
        let reason = p.enabled ? (try Limits.text(p.reason, "reason", max: 200) ?? earlier ?? "maintenance") : nil
        let was = earlier != nil
        let now = Date()
        try await maintenance.set(
            device: d.id, reason: reason,
            audit: AuditRecord(
                at: now, uid: peer.uid, user: peer.userName, action: "maintenance", target: d.id,
                old: was ? "on" : "off", new: reason.map { "on: \($0)" } ?? "off"))
        await polling.monitor.setMaintenance(d.id, reason: reason, at: now)
        logger.notice(
            "maintenance \(p.enabled ? "on" : "off")",
            metadata: ["device": "\(d.id)", "by": "\(peer.userName)", "reason": "\(p.reason ?? "")"])
        guard let status = await polling.monitor.status(of: d.id) else {
            throw StationError.deviceNotFound(device: d.id)
        }
        return SetMaintenance.Reply(device: Wire.summary(status))
    }

    func reload(peer: Peer) async throws -> Empty {
        let path = await config.current.path
        let refused = await config.reload()
        var result = "refused"
        if refused == nil {
            let changes = await config.lastChanges
            result = changes.isEmpty ? "applied, nothing changed" : "applied: " + changes.joined(separator: "; ")
        }
        try await database.audit(
            AuditRecord(
                at: Date(), uid: peer.uid, user: peer.userName, action: "reload", target: path, old: nil,
                new: result))
        if let refused { throw StationError.configRefused(errors: refused) }
        return Empty()
    }

    func audit(_ p: ListAudit.Parameters) async throws -> ListAudit.Reply {
        let limit = try Limits.count(p.limit, "limit", default: 50, max: 5000)
        let before = try Limits.cursor(p.cursor)
        let entries = try await database.auditEntries(limit: limit + 1, before: before)
        let page = Array(entries.prefix(limit))
        return ListAudit.Reply(
            entries: page.map { Wire.audit($0) }, next: entries.count > limit ? page.last?.id.map(String.init) : nil)
    }
}
