#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import WaystationAlerts
import WaystationCore
import WaystationModbus
import WaystationPolling
import WaystationStorage
import WaystationVisits

extension StationService {
    func summaries() async -> [DeviceSummary] {
        await polling.monitor.statuses().map(Wire.summary)
    }

    func status() async throws -> GetStatus.Reply {
        let c = await config.current
        return GetStatus.Reply(
            station: StationInfo(id: c.station.id, name: c.station.name, capacity: c.station.capacity),
            version: WaystationVersion.string, uptime: (Date().timeIntervalSince(started) * 10).rounded() / 10,
            devices: await summaries(), activeAlerts: await alerts.activeCount,
            occupancy: (try? await visits.store.occupancy()) ?? 0, storageOk: database.health.status.ok,
            storageError: database.health.status.lastError)
    }

    func device(_ id: String) async throws(StationError) -> StationConfig.Device {
        guard let d = await config.current.device(id: id) else { throw .deviceNotFound(device: id) }
        return d
    }

    func point(_ device: StationConfig.Device, _ name: String) throws(StationError) -> PointSpec {
        guard let p = device.profile.point(named: name) else {
            throw .pointNotFound(device: device.id, point: name)
        }
        return p
    }

    func device(_ p: GetDevice.Parameters) async throws -> GetDevice.Reply {
        _ = try await device(p.id)
        guard let status = await polling.monitor.status(of: p.id) else {
            throw StationError.deviceNotFound(device: p.id)
        }
        let now = Date()
        return GetDevice.Reply(
            device: DeviceDetail(
                device: Wire.summary(status), points: status.points.map { Wire.reading($0.spec, $0.state, now: now) }))
    }

    func liveRead(_ d: StationConfig.Device, _ p: PointSpec) async throws(StationError) -> PointValue {
        do {
            return try await polling.liveRead(d, p)
        } catch {
            throw .deviceOffline(device: d.id, error: error.description)
        }
    }

    func read(_ p: ReadPoint.Parameters) async throws -> PointReply {
        let d = try await device(p.device)
        let spec = try point(d, p.point)
        return PointReply(point: Wire.live(spec, try await liveRead(d, spec)))
    }

    func write(_ p: WritePoint.Parameters, peer: Peer) async throws -> PointReply {
        let d = try await device(p.device)
        let spec = try point(d, p.point)
        guard spec.writable else { throw StationError.pointNotWritable(device: d.id, point: spec.name) }
        let value = p.value
        let outOfRange =
            spec.type == .bool
            ? !(value == 0 || value == 1) : (value < (spec.min ?? -.infinity) || value > (spec.max ?? .infinity))
        if outOfRange || !value.isFinite {
            throw StationError.valueOutOfRange(
                device: d.id, point: spec.name, value: value, min: spec.type == .bool ? 0 : spec.min,
                max: spec.type == .bool ? 1 : spec.max)
        }
        let old = try? await liveRead(d, spec)
        do {
            try await polling.write(d, spec, value: value)
        } catch let e as ModbusError {
            throw StationError.deviceOffline(device: d.id, error: e.description)
        } catch {
            throw StationError.valueOutOfRange(
                device: d.id, point: spec.name, value: value, min: spec.min, max: spec.max)
        }
        let readBack = try await liveRead(d, spec)
        try await database.audit(
            AuditRecord(
                at: Date(), uid: peer.uid, user: peer.userName, action: "write", target: "\(d.id).\(spec.name)",
                old: old?.description, new: readBack.description))
        logger.notice(
            "point written",
            metadata: ["point": "\(d.id).\(spec.name)", "by": "\(peer.userName)", "value": "\(readBack)"])
        return PointReply(point: Wire.live(spec, readBack))
    }

    func selfTest() async throws -> SelfTest.Reply {
        let c = await config.current
        var checks: [DeviceCheck] = []
        for d in c.devices {
            let start = ContinuousClock.now
            let readings = await polling.readAll(d)
            let ms = (ContinuousClock.now - start).seconds * 1000
            let failure = readings.values.compactMap { r -> String? in
                if case .failed(let e) = r { return e.description }
                return nil
            }.first
            checks.append(
                DeviceCheck(id: d.id, ok: failure == nil, error: failure, latencyMs: (ms * 10).rounded() / 10))
        }
        let storageError = await storageProblems(dir: PathText.parent(c.storage.path))
        let now = Date()
        // 2025-01-01: a clock reset to 1970 fails; so do an unsynchronised or jumped one (retention).
        let clockError =
            retentionClock?.problem(now: now)
            ?? (now > Date(timeIntervalSince1970: 1_735_689_600) ? nil : "the clock reads before 2025")
        let clockOK = clockError == nil
        return SelfTest.Reply(
            ok: checks.allSatisfy(\.ok) && storageError == nil && clockOK, devices: checks,
            storageOk: storageError == nil, storageError: storageError, clockOk: clockOK, clock: Wire.iso(now),
            clockError: clockError)
    }

    /// What is wrong with storage, the worst first (damaged, not answering, writes failing, little
    /// space), each further one after a "; "; nil when nothing is.
    func storageProblems(dir: String) async -> String? {
        var problems: [String] = []
        if let damage = await database.quickCheck() {
            problems.append("database damaged: \(damage)")
        } else if !(await database.ping()) {
            problems.append("database does not answer")
        }
        let health = database.health.status
        if !health.ok, problems.isEmpty || !health.corrupt { problems.append(health.lastError ?? "writes failing") }
        var fs = statvfs()
        if statvfs(dir, &fs) == 0 {
            let free = Double(fs.f_bavail) * Double(fs.f_frsize)
            if free < 50 * 1024 * 1024 { problems.append("only \(Int(free / 1_048_576)) MiB free on \(dir)") }
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
