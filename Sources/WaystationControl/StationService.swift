import Foundation
import Logging
import WaystationAlerts
import WaystationCore
import WaystationDaemon
import WaystationModbus
import WaystationPolling
import WaystationVisits

/// `io.waystation.Station` and `org.varlink.service` over the control socket.
public struct StationService: VarlinkService {
    let daemon: Daemon
    let started: Date
    let logger: Logger
    static let iface = InterfaceDefinition.name

    public init(daemon: Daemon, started: Date = Date(), logger: Logger) {
        self.daemon = daemon
        self.started = started
        self.logger = logger
    }

    /// A reply that ends the call with an error.
    struct Failure: Error {
        var reply: VarlinkReply
        init(_ name: String, _ parameters: JSON = [:]) { reply = .error(name, parameters) }
        static func invalid(_ parameter: String) -> Failure {
            Failure("org.varlink.service.InvalidParameter", ["parameter": .string(parameter)])
        }
    }

    public func handle(_ call: VarlinkCall, peer: PeerCredentials, connection: any VarlinkConnection) async {
        do {
            switch call.interface {
            case "org.varlink.service":
                _ = connection.send(try serviceCall(call))
            case Self.iface:
                if call.member == "Watch" {
                    try await watch(call, connection: connection)
                } else {
                    _ = connection.send(try await stationCall(call, peer: peer))
                }
            default:
                _ = connection.send(
                    .error("org.varlink.service.InterfaceNotFound", ["interface": .string(call.interface)]))
            }
        } catch let failure as Failure {
            _ = connection.send(failure.reply)
        } catch {
            logger.error("control call failed", metadata: ["method": "\(call.method)", "error": "\(error)"])
            _ = connection.send(.error("\(Self.iface).InternalError", ["error": .string("\(error)")]))
        }
    }

    func serviceCall(_ call: VarlinkCall) throws -> VarlinkReply {
        switch call.member {
        case "GetInfo":
            return .ok([
                "vendor": "Waystation", "product": "waystationd", "version": .string(WaystationVersion.string),
                "url": "https://example.invalid/waystation",
                "interfaces": ["org.varlink.service", .string(Self.iface)],
            ])
        case "GetInterfaceDescription":
            guard let name = call.parameters["interface"]?.string else { throw Failure.invalid("interface") }
            switch name {
            case Self.iface: return .ok(["description": .string(InterfaceDefinition.text)])
            case "org.varlink.service": return .ok(["description": .string(Self.serviceDescription)])
            default: throw Failure("org.varlink.service.InterfaceNotFound", ["interface": .string(name)])
            }
        default:
            throw Failure("org.varlink.service.MethodNotFound", ["method": .string(call.method)])
        }
    }

    static let serviceDescription = """
        # The Varlink Service Interface is provided by every varlink service.
        interface org.varlink.service

        method GetInfo() -> (vendor: string, product: string, version: string, url: string, interfaces: []string)
        method GetInterfaceDescription(interface: string) -> (description: string)

        error InterfaceNotFound (interface: string)
        error MethodNotFound (method: string)
        error MethodNotImplemented (method: string)
        error InvalidParameter (parameter: string)
        error PermissionDenied ()
        error ExpectedMore ()
        """

    // MARK: io.waystation.Station

    func context() async throws -> (StationConfig, PollingEngine) {
        guard let config = await daemon.currentConfig, let engine = await daemon.currentEngine else {
            throw Failure("\(Self.iface).NotReady")
        }
        return (config, engine)
    }

    func requireAdmin(_ call: VarlinkCall, _ peer: PeerCredentials, _ config: StationConfig) throws {
        guard peer.isAdmin(adminGroup: config.control.adminGroup) else {
            let group = config.control.adminGroup.map { "uid 0 or membership of group \($0)" } ?? "uid 0"
            throw Failure(
                "\(Self.iface).PermissionDenied",
                ["method": .string(call.member), "uid": .number(Double(peer.uid)), "required": .string(group)])
        }
    }

    func string(_ call: VarlinkCall, _ key: String) throws -> String {
        guard let s = call.parameters[key]?.string else { throw Failure.invalid(key) }
        return s
    }

    func device(_ config: StationConfig, _ id: String) throws -> StationConfig.Device {
        guard let d = config.device(id: id) else {
            throw Failure("\(Self.iface).DeviceNotFound", ["device": .string(id)])
        }
        return d
    }

    func point(_ device: StationConfig.Device, _ name: String) throws -> PointSpec {
        guard let p = device.profile.point(named: name) else {
            throw Failure("\(Self.iface).PointNotFound", ["device": .string(device.id), "point": .string(name)])
        }
        return p
    }

    func stationCall(_ call: VarlinkCall, peer: PeerCredentials) async throws -> VarlinkReply {
        let (config, engine) = try await context()
        switch call.member {
        case "GetStatus":
            let statuses = await engine.monitor.statuses()
            return .ok([
                "station": [
                    "id": .string(config.station.id), "name": .string(config.station.name),
                    "capacity": .number(Double(config.station.capacity)),
                ],
                "version": .string(WaystationVersion.string),
                "uptime": .number((Date().timeIntervalSince(started) * 10).rounded() / 10),
                "devices": .array(statuses.map(Self.summary)),
                "active_alerts": .number(Double(await daemon.currentAlerts?.activeCount ?? 0)),
                "occupancy": .number(Double((try? await engine.store.occupancy()) ?? 0)),
            ])
        case "ListDevices":
            return .ok(["devices": .array(await engine.monitor.statuses().map(Self.summary))])
        case "GetDevice":
            let id = try string(call, "id")
            _ = try device(config, id)
            guard let status = await engine.monitor.status(of: id) else {
                throw Failure("\(Self.iface).DeviceNotFound", ["device": .string(id)])
            }
            let now = Date()
            return .ok([
                "device": [
                    "device": Self.summary(status),
                    "points": .array(status.points.map { Self.reading($0.spec, $0.state, now: now) }),
                ]
            ])
        case "ReadPoint":
            let d = try device(config, try string(call, "device"))
            let p = try point(d, try string(call, "point"))
            let value = try await liveRead(d, p, engine)
            return .ok(["point": Self.live(p, value)])
        case "WritePoint":
            return try await writePoint(call, peer: peer, config: config, engine: engine)
        case "SelfTest":
            return try await selfTest(config: config, engine: engine)
        case "SetMaintenance":
            try requireAdmin(call, peer, config)
            let d = try device(config, try string(call, "device"))
            guard let enabled = call.parameters["enabled"]?.bool else { throw Failure.invalid("enabled") }
            var reason: String?
            if let r = call.parameters["reason"], !r.isNull {
                guard let text = r.string else { throw Failure.invalid("reason") }
                reason = text
            }
            let was = await engine.monitor.isInMaintenance(d.id)
            let now = Date()
            try await engine.store.setMaintenance(
                device: d.id, reason: enabled ? (reason ?? "maintenance") : nil,
                audit: .init(
                    at: now, uid: peer.uid, user: peer.userName, action: "maintenance", target: d.id,
                    old: was ? "on" : "off", new: enabled ? "on: \(reason ?? "maintenance")" : "off"))
            await engine.monitor.setMaintenance(d.id, reason: enabled ? (reason ?? "maintenance") : nil, at: now)
            logger.notice(
                "maintenance \(enabled ? "on" : "off")",
                metadata: ["device": "\(d.id)", "by": "\(peer.userName)", "reason": "\(reason ?? "")"])
            guard let status = await engine.monitor.status(of: d.id) else {
                throw Failure("\(Self.iface).DeviceNotFound")
            }
            return .ok(["device": Self.summary(status)])
        case "Reload":
            try requireAdmin(call, peer, config)
            let refused = await daemon.reload()
            try await engine.store.audit(
                .init(
                    at: Date(), uid: peer.uid, user: peer.userName, action: "reload", target: config.path,
                    old: nil, new: refused == nil ? "applied" : "refused"))
            if let refused { throw Failure("\(Self.iface).ConfigRefused", ["errors": .string(refused)]) }
            return .ok()
        case "ListAlerts", "AcknowledgeAlert", "Silence", "EnableSlot":
            return try await alertCall(call, peer: peer, config: config)
        case "CheckIn", "CheckOut", "ListVisits", "VisitStats":
            return try await visitCall(call, config: config)
        case "ListAudit":
            var limit = 50
            if let l = call.parameters["limit"], !l.isNull {
                guard let n = l.number, n >= 1, n <= 10000 else { throw Failure.invalid("limit") }
                limit = Int(n)
            }
            let entries = try await engine.store.auditEntries(limit: limit)
            return .ok([
                "entries": .array(
                    entries.map {
                        [
                            "at": .string(Self.iso($0.at)), "uid": .number(Double($0.uid)), "user": .string($0.user),
                            "action": .string($0.action), "target": .string($0.target), "old": .optional($0.old),
                            "new": .optional($0.new),
                        ]
                    })
            ])
        default:
            throw Failure("org.varlink.service.MethodNotFound", ["method": .string(call.method)])
        }
    }

    func date(_ call: VarlinkCall, _ key: String, required: Bool) throws -> Date? {
        guard let value = call.parameters[key], !value.isNull else {
            if required { throw Failure.invalid(key) }
            return nil
        }
        guard let text = value.string, let date = Self.parseDate(text) else { throw Failure.invalid(key) }
        return date
    }

    /// ISO 8601 with or without a time zone (without: station time), or a plain date.
    static func parseDate(_ text: String) -> Date? {
        if let d = try? Date(text, strategy: .iso8601) { return d }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            formatter.dateFormat = format
            if let d = formatter.date(from: text) { return d }
        }
        return nil
    }

    func visitCall(_ call: VarlinkCall, config: StationConfig) async throws -> VarlinkReply {
        guard let book = await daemon.currentVisits else { throw Failure("\(Self.iface).NotReady") }
        switch call.member {
        case "CheckIn":
            let worker = try string(call, "worker")
            let category = try string(call, "category")
            var source: String?
            if let s = call.parameters["source"], !s.isNull {
                guard let text = s.string else { throw Failure.invalid("source") }
                source = text
            }
            guard await book.categories.contains(category) else {
                throw Failure(
                    "\(Self.iface).UnknownCategory",
                    ["category": .string(category), "known": .array(await book.categories.map(JSON.string))])
            }
            do {
                let r = try await book.checkIn(worker: worker, category: category, source: source)
                return .ok([
                    "visit": Self.visit(r.visit), "already_inside": .bool(!r.created),
                    "occupancy": .number(Double(r.occupancy)), "capacity": .number(Double(r.capacity)),
                    "full": .bool(r.full),
                ])
            } catch let e as VisitError {
                throw Failure(
                    "org.varlink.service.InvalidParameter", ["parameter": "worker", "reason": .string(e.description)])
            }
        case "CheckOut":
            let worker = try string(call, "worker")
            guard let (visit, occupancy) = try await book.checkOut(worker: worker) else {
                throw Failure("\(Self.iface).NotCheckedIn", ["worker": .string(book.pseudonym(worker))])
            }
            return .ok(["visit": Self.visit(visit), "occupancy": .number(Double(occupancy))])
        case "ListVisits":
            let since = try date(call, "since", required: false)
            let until = try date(call, "until", required: false)
            var active = false
            if let a = call.parameters["active"], !a.isNull {
                guard let b = a.bool else { throw Failure.invalid("active") }
                active = b
            }
            let visits = try await book.store.visits(since: since, until: until, activeOnly: active)
            return .ok(["visits": .array(visits.map(Self.visit))])
        default:  // VisitStats
            guard let from = try date(call, "from", required: true), let to = try date(call, "to", required: true),
                from < to
            else { throw Failure.invalid("to") }
            let s = try await book.statistics(from: from, to: to)
            return .ok([
                "stats": [
                    "from": .string(Self.iso(s.from)), "to": .string(Self.iso(s.to)),
                    "visits": .number(Double(s.visits)),
                    "by_category": .array(
                        s.byCategory.keys.sorted().map {
                            ["category": .string($0), "count": .number(Double(s.byCategory[$0] ?? 0))]
                        }),
                    "by_hour": .array(s.byHour.map { .number(Double($0)) }),
                    "unique_riders": .number(Double(s.uniqueRiders)), "mean_stay": .optional(s.meanStay),
                    "median_stay": .optional(s.medianStay), "peak_occupancy": .number(Double(s.peakOccupancy)),
                    "peak_at": .optional(s.peakAt.map(Self.iso)),
                ]
            ])
        }
    }

    func alertCall(_ call: VarlinkCall, peer: PeerCredentials, config: StationConfig) async throws -> VarlinkReply {
        guard let alerts = await daemon.currentAlerts else { throw Failure("\(Self.iface).NotReady") }
        switch call.member {
        case "ListAlerts":
            var state: AlertInstance.State?
            if let s = call.parameters["state"], !s.isNull {
                guard let text = s.string, let st = AlertInstance.State(rawValue: text) else {
                    throw Failure.invalid("state")
                }
                state = st
            }
            let list = await alerts.list(state: state)
            return .ok([
                "alerts": .array(list.map { Self.alert($0.0, silenced: $0.silenced) }),
                "latched_slots": .array(
                    (await alerts.latchedSlots).sorted { $0.key < $1.key }.map {
                        ["slot": .string($0.key), "reason": .string($0.value)]
                    }),
            ])
        case "AcknowledgeAlert":
            try requireAdmin(call, peer, config)
            let fp = try string(call, "fingerprint")
            let note = call.parameters["note"]?.string ?? ""
            do {
                let a = try await alerts.acknowledge(fp, note: note, by: peer.userName, uid: peer.uid)
                return .ok(["alert": Self.alert(a, silenced: false)])
            } catch AlertService.ControlError.notFound {
                throw Failure("\(Self.iface).AlertNotFound", ["fingerprint": .string(fp)])
            } catch AlertService.ControlError.notFiring(let st) {
                throw Failure("\(Self.iface).AlertNotFiring", ["fingerprint": .string(fp), "state": .string(st)])
            }
        case "Silence":
            try requireAdmin(call, peer, config)
            guard let m = call.parameters["matchers"]?.object, !m.isEmpty else { throw Failure.invalid("matchers") }
            var matchers: [String: String] = [:]
            for (k, v) in m {
                guard let s = v.string else { throw Failure.invalid("matchers") }
                matchers[k] = s
            }
            guard let text = call.parameters["duration"]?.string, let duration = DurationParser.parse(text),
                duration > .zero
            else { throw Failure.invalid("duration") }
            let comment = call.parameters["comment"]?.string ?? ""
            let s = try await alerts.silence(
                matchers: matchers, duration: duration, comment: comment, by: peer.userName, uid: peer.uid)
            return .ok(["id": .number(Double(s.id)), "until": .string(Self.iso(s.until))])
        default:  // EnableSlot
            try requireAdmin(call, peer, config)
            let slot = try string(call, "slot")
            do {
                try await alerts.enableSlot(slot, by: peer.userName, uid: peer.uid)
                return .ok()
            } catch AlertService.ControlError.slotNotFound {
                throw Failure("\(Self.iface).SlotNotFound", ["slot": .string(slot)])
            } catch AlertService.ControlError.stillUnsafe(let why) {
                throw Failure("\(Self.iface).SlotUnsafe", ["slot": .string(slot), "reason": .string(why)])
            } catch AlertService.ControlError.relayFailed(let why) {
                throw Failure("\(Self.iface).DeviceOffline", ["device": .string(slot), "error": .string(why)])
            }
        }
    }

    static func alert(_ a: AlertInstance, silenced: Bool) -> JSON {
        [
            "fingerprint": .string(a.fingerprint), "name": .string(a.rule), "device": .string(a.device),
            "state": .string(a.state.rawValue), "severity": .string(a.severity), "summary": .string(a.summary),
            "labels": .object(a.labels.mapValues(JSON.string)), "value": .optional(a.value),
            "since": .optional((a.firedAt ?? a.activeSince).map(iso)), "resolved_at": .optional(a.resolvedAt.map(iso)),
            "acknowledged_by": .optional(a.ackBy), "ack_note": .optional(a.ackNote), "silenced": .bool(silenced),
            "escalated": .bool(a.escalated),
        ]
    }

    static func alertEvent(_ e: AlertService.Event) -> JSON {
        switch e {
        case .alert(let a, let entered):
            return [
                "kind": "alert", "at": .string(iso(Date())), "device": .string(a.device),
                "to": .string(entered.rawValue),
                "cause": .string("\(a.rule): \(a.summary)"),
            ]
        case .interlock(let slot, let reason, let ok):
            return [
                "kind": "interlock", "at": .string(iso(Date())), "device": .string(slot),
                "to": .string(ok ? "off" : "switch-off failed"), "cause": .string(reason),
            ]
        }
    }

    static func visit(_ v: Store.Visit) -> JSON {
        [
            "id": .number(Double(v.id)), "worker": .string(v.worker), "category": .string(v.category),
            "source": .optional(v.source), "checked_in": .string(iso(v.checkedIn)),
            "checked_out": .optional(v.checkedOut.map(iso)), "closed_by": .optional(v.closedBy),
        ]
    }

    static func visitEvent(_ e: VisitBook.Event) -> JSON {
        switch e {
        case .checkIn(let v, let occupancy, let full):
            return [
                "kind": "check_in", "at": .string(iso(v.checkedIn)), "visit": visit(v),
                "occupancy": .number(Double(occupancy)),
                "cause": .optional(full ? "station full" : nil),
            ]
        case .checkOut(let v, let occupancy):
            return [
                "kind": "check_out", "at": .string(iso(v.checkedOut ?? Date())), "visit": visit(v),
                "occupancy": .number(Double(occupancy)),
            ]
        case .autoClosed(let v):
            return ["kind": "visit_closed", "at": .string(iso(Date())), "visit": visit(v), "cause": "maximum stay"]
        }
    }

    func liveRead(_ d: StationConfig.Device, _ p: PointSpec, _ engine: PollingEngine) async throws -> PointValue {
        guard let client = await engine.clients[d.bus] else {
            throw Failure("\(Self.iface).DeviceNotFound", ["device": .string(d.id)])
        }
        let request = ReadRequest(table: p.table, address: p.address, count: p.width, points: [p])
        do {
            let values = try await DeviceReader.execute(
                request, unit: d.unit, order: d.profile.wordOrder, client: client)
            return values[p.name] ?? .noReading
        } catch {
            throw Failure(
                "\(Self.iface).DeviceOffline", ["device": .string(d.id), "error": .string(error.description)])
        }
    }

    func writePoint(_ call: VarlinkCall, peer: PeerCredentials, config: StationConfig, engine: PollingEngine)
        async throws
        -> VarlinkReply
    {
        try requireAdmin(call, peer, config)
        let d = try device(config, try string(call, "device"))
        let p = try point(d, try string(call, "point"))
        let raw = call.parameters["value"]
        guard let value = raw?.number ?? raw?.bool.map({ $0 ? 1 : 0 }) else { throw Failure.invalid("value") }
        guard p.writable else {
            throw Failure("\(Self.iface).PointNotWritable", ["device": .string(d.id), "point": .string(p.name)])
        }
        let outOfRange: Bool =
            p.type == .bool
            ? !(value == 0 || value == 1) : (value < (p.min ?? -.infinity) || value > (p.max ?? .infinity))
        if outOfRange || !value.isFinite {
            throw Failure(
                "\(Self.iface).ValueOutOfRange",
                [
                    "device": .string(d.id), "point": .string(p.name), "value": .number(value),
                    "min": .optional(p.type == .bool ? 0 : p.min), "max": .optional(p.type == .bool ? 1 : p.max),
                ])
        }
        guard let client = await engine.clients[d.bus] else { throw Failure("\(Self.iface).DeviceNotFound") }
        let old = try? await liveRead(d, p, engine)
        do {
            if p.table == .coil {
                try await client.writeCoil(unit: d.unit, address: p.address, value: value != 0)
            } else {
                let words = try p.encode(value, order: d.profile.wordOrder)
                if words.count == 1 {
                    try await client.writeRegister(unit: d.unit, address: p.address, value: words[0])
                } else {
                    try await client.writeRegisters(unit: d.unit, address: p.address, values: words)
                }
            }
        } catch let e as ModbusError {
            throw Failure("\(Self.iface).DeviceOffline", ["device": .string(d.id), "error": .string(e.description)])
        } catch {
            throw Failure(
                "\(Self.iface).ValueOutOfRange",
                [
                    "device": .string(d.id), "point": .string(p.name), "value": .number(value), "min": .optional(p.min),
                    "max": .optional(p.max),
                ])
        }
        let readBack = try await liveRead(d, p, engine)
        try await engine.store.audit(
            .init(
                at: Date(), uid: peer.uid, user: peer.userName, action: "write", target: "\(d.id).\(p.name)",
                old: old?.description, new: readBack.description))
        logger.notice(
            "point written", metadata: ["point": "\(d.id).\(p.name)", "by": "\(peer.userName)", "value": "\(readBack)"])
        return .ok(["point": Self.live(p, readBack)])
    }

    func selfTest(config: StationConfig, engine: PollingEngine) async throws -> VarlinkReply {
        var checks: [JSON] = []
        var allOK = true
        for d in config.devices {
            guard let client = await engine.clients[d.bus] else { continue }
            let start = ContinuousClock.now
            let readings = await DeviceReader.readAll(d, client: client)
            let ms = (ContinuousClock.now - start).seconds * 1000
            let failure = readings.values.compactMap { r -> String? in
                if case .failed(let e) = r { return e.description }
                return nil
            }.first
            if failure != nil { allOK = false }
            checks.append([
                "id": .string(d.id), "ok": .bool(failure == nil), "error": .optional(failure),
                "latency_ms": .number((ms * 10).rounded() / 10),
            ])
        }
        let storageOK = await engine.store.ping()
        var storageError: String? = storageOK ? nil : "database does not answer"
        let dir = (config.storage.path as NSString).deletingLastPathComponent
        var fs = statvfs()
        if statvfs(dir, &fs) == 0 {
            let free = Double(fs.f_bavail) * Double(fs.f_frsize)
            if free < 50 * 1024 * 1024 { storageError = "only \(Int(free / 1_048_576)) MiB free on \(dir)" }
        }
        let now = Date()
        let clockOK = now > Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01: a clock reset to 1970 fails
        return .ok([
            "ok": .bool(allOK && storageError == nil && clockOK), "devices": .array(checks),
            "storage_ok": .bool(storageError == nil), "storage_error": .optional(storageError),
            "clock_ok": .bool(clockOK),
            "clock": .string(Self.iso(now)),
        ])
    }

    func watch(_ call: VarlinkCall, connection: any VarlinkConnection) async throws {
        let (_, engine) = try await context()
        let snapshot: JSON = [
            "event": [
                "kind": "snapshot", "at": .string(Self.iso(Date())),
                "devices": .array(await engine.monitor.statuses().map(Self.summary)),
            ]
        ]
        guard call.more else {
            _ = connection.send(.ok(snapshot))
            return
        }
        let stream = await engine.monitor.subscribe()
        let visitStream = await daemon.currentVisits?.subscribe()
        let alertStream = await daemon.currentAlerts?.subscribe()
        guard connection.send(.ok(snapshot, continues: true)) else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in stream {
                    if !connection.send(.ok(["event": Self.event(event)], continues: true)) { return }
                }
            }
            if let alertStream {
                group.addTask {
                    for await event in alertStream {
                        if !connection.send(.ok(["event": Self.alertEvent(event)], continues: true)) { return }
                    }
                }
            }
            if let visitStream {
                group.addTask {
                    for await event in visitStream {
                        if !connection.send(.ok(["event": Self.visitEvent(event)], continues: true)) { return }
                    }
                }
            }
            group.addTask {
                // A client that goes away mid-stream is noticed within half a second.
                while !Task.isCancelled && !connection.isClosed {
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: Encoding

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func summary(_ s: StationMonitor.DeviceStatus) -> JSON {
        [
            "id": .string(s.id), "kind": .string(s.kind.rawValue), "profile": .string(s.profile), "bus": .string(s.bus),
            "unit": .number(Double(s.unit)), "state": .string(s.health.state.rawValue),
            "maintenance": .bool(s.maintenance != nil), "maintenance_reason": .optional(s.maintenance?.reason),
            "last_good": .optional(s.health.lastGood.map(iso)), "last_error": .optional(s.health.lastError),
        ]
    }

    static func reading(_ spec: PointSpec, _ state: PointState, now: Date) -> JSON {
        let quality = state.value == nil && state.error == nil ? "none" : state.quality(at: now).name
        let value = state.value?.doubleValue
        return [
            "name": .string(spec.name), "value": .optional(value),
            "label": .optional(value.flatMap { label(spec, $0) }),
            "unit": .optional(spec.unit), "quality": .string(quality), "error": .optional(state.error),
            "age": .optional(state.age(at: now).map { ($0 * 10).rounded() / 10 }), "writable": .bool(spec.writable),
            "min": .optional(spec.min), "max": .optional(spec.max),
        ]
    }

    /// A coded value's label; switches and contacts read true or false.
    static func label(_ spec: PointSpec, _ value: Double) -> String? {
        if spec.type == .bool { return value != 0 ? "true" : "false" }
        return spec.label(for: value)
    }

    static func live(_ spec: PointSpec, _ value: PointValue) -> JSON {
        let number = value.doubleValue
        return [
            "name": .string(spec.name), "value": .optional(number),
            "label": .optional(number.flatMap { label(spec, $0) }),
            "unit": .optional(spec.unit), "quality": .string(number == nil ? "none" : "good"), "error": nil, "age": 0,
            "writable": .bool(spec.writable), "min": .optional(spec.min), "max": .optional(spec.max),
        ]
    }

    static func event(_ e: MonitorEvent) -> JSON {
        switch e {
        case .deviceState(let device, let t):
            return [
                "kind": "device_state", "at": .string(iso(t.at)), "device": .string(device),
                "from": .string(t.from.rawValue),
                "to": .string(t.to.rawValue), "cause": .string(t.cause),
            ]
        case .maintenance(let device, let reason, let at):
            return [
                "kind": "maintenance", "at": .string(iso(at)), "device": .string(device),
                "to": .string(reason == nil ? "off" : "on"), "cause": .optional(reason),
            ]
        case .reload(let at, let ok, let detail):
            return [
                "kind": "reload", "at": .string(iso(at)), "to": .string(ok ? "applied" : "refused"),
                "cause": .optional(detail),
            ]
        }
    }
}
