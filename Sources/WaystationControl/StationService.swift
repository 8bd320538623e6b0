#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationAlerts
import WaystationCore
import WaystationPolling
import WaystationStorage
import WaystationVisits

/// The running config and the way to reload it (the composition root owns both).
public protocol ConfigAuthority: Sendable {
    var current: StationConfig { get async }
    /// Reloads the config file; nil when applied, else why it was refused.
    func reload() async -> String?
    /// The keys the last applied reload changed, `key: old → new`.
    var lastChanges: [String] { get async }
}

extension ConfigAuthority {
    public var lastChanges: [String] { get async { [] } }
}

/// `io.waystation.Station` and `org.varlink.service` over the control socket. The services it works
/// with are given in `init`; each method group lives in its own file.
public struct StationService: ControlHandler {
    let polling: PollingEngine
    let alerts: AlertService
    let visits: VisitBook
    let maintenance: MaintenanceStore
    let database: StationDatabase
    let config: any ConfigAuthority
    let started: Date
    let logger: Logger
    /// Kiosk sessions, scans and hazard reports.
    let kiosk: KioskDesk
    /// Whether retention trusts the clock (the self-test reports it).
    let retentionClock: RetentionClock?
    /// The http(s) notifications waystation-uplink delivers (nil: none are handed out).
    let notifications: NotificationDesk?

    public init(
        polling: PollingEngine, alerts: AlertService, visits: VisitBook, maintenance: MaintenanceStore,
        database: StationDatabase, config: any ConfigAuthority, started: Date = Date(), logger: Logger,
        kiosk: KioskDesk, retentionClock: RetentionClock? = nil, notifications: NotificationDesk? = nil
    ) {
        self.notifications = notifications
        self.kiosk = kiosk
        self.retentionClock = retentionClock
        self.polling = polling
        self.alerts = alerts
        self.visits = visits
        self.maintenance = maintenance
        self.database = database
        self.config = config
        self.started = started
        self.logger = logger
    }

    /// The least role each method needs; methods not listed need admin.
    static let required: [String: Role] = [
        GetStatus.name: .reader, ListDevices.name: .reader, GetDevice.name: .reader, ReadPoint.name: .reader,
        SelfTest.name: .reader, Watch.name: .reader, ListAlerts.name: .reader, GetVisitStats.name: .reader,
        CheckIn.name: .kiosk, CheckOut.name: .kiosk,
        GetKioskStatus.name: .reader, GetMetrics.name: .reader, GetHistory.name: .reader, ListEvents.name: .reader,
        ListSilences.name: .reader,
        KioskScan.name: .kiosk, GetRider.name: .kiosk, SubmitReport.name: .kiosk, EndSession.name: .kiosk,
        DistrictOutgoing.name: .uplink, DistrictAccepted.name: .uplink, DistrictApply.name: .uplink,
        DistrictStatus.name: .uplink, DistrictRider.name: .admin,
        NotificationsPending.name: .uplink, NotificationDelivered.name: .uplink, NotificationFailed.name: .uplink,
    ]

    public func handle(_ call: VarlinkCall, peer: Peer, replies: ReplySink) async {
        do {
            switch call.interface {
            case VarlinkServiceInterface.name:
                try introspect(call, replies)
            case StationInterface.name:
                let needed = Self.required[call.member] ?? .admin
                if !peer.role.allows(needed) {
                    let policy = RolePolicy(config: await config.current)
                    throw StationError.permissionDenied(
                        method: call.member, uid: Int(peer.uid), required: policy.requirement(needed))
                }
                try await station(call, peer: peer, replies)
            default:
                throw VarlinkError.interfaceNotFound(call.interface)
            }
        } catch let e as VarlinkError {
            replies.fail(e)
        } catch let e as StationError {
            replies.fail(e.varlink)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_FULL {
            // In words a kiosk and a technician understand, not SQLite's.
            logger.error("control call refused: the disk is full", metadata: ["method": "\(call.method)"])
            replies.fail(
                StationError.storageFull(directory: PathText.parent(await config.current.storage.path)).varlink)
        } catch {
            logger.error("control call failed", metadata: ["method": "\(call.method)", "error": "\(error)"])
            replies.fail(StationError.internalError(error: "\(error)").varlink)
        }
    }

    private func station(_ call: VarlinkCall, peer: Peer, _ replies: ReplySink) async throws {
        switch call.member {
        case GetStatus.name: replies.send(try await status())
        case ListDevices.name: replies.send(ListDevices.Reply(devices: await summaries()))
        case GetDevice.name: replies.send(try await device(try decode(GetDevice.self, call)))
        case ReadPoint.name: replies.send(try await read(try decode(ReadPoint.self, call)))
        case WritePoint.name: replies.send(try await write(try decode(WritePoint.self, call), peer: peer))
        case SelfTest.name: replies.send(try await selfTest())
        case SetMaintenance.name:
            replies.send(try await setMaintenance(try decode(SetMaintenance.self, call), peer: peer))
        case Reload.name: replies.send(try await reload(peer: peer))
        case ListAudit.name: replies.send(try await audit(try decode(ListAudit.self, call)))
        case ListAlerts.name: replies.send(try await listAlerts(try decode(ListAlerts.self, call)))
        case AcknowledgeAlert.name:
            replies.send(try await acknowledge(try decode(AcknowledgeAlert.self, call), peer: peer))
        case Silence.name: replies.send(try await silence(try decode(Silence.self, call), peer: peer))
        case EnableSlot.name: replies.send(try await enableSlot(try decode(EnableSlot.self, call), peer: peer))
        case CheckIn.name: replies.send(try await checkIn(try decode(CheckIn.self, call), peer: peer))
        case CheckOut.name: replies.send(try await checkOut(try decode(CheckOut.self, call), peer: peer))
        case ListVisits.name: replies.send(try await listVisits(try decode(ListVisits.self, call)))
        case GetVisitStats.name: replies.send(try await visitStats(try decode(GetVisitStats.self, call)))
        case Watch.name: try await watch(call, peer: peer, replies)
        case GetKioskStatus.name: replies.send(try await kioskStatus())
        case KioskScan.name: replies.send(try await kioskScan(try decode(KioskScan.self, call)))
        case GetRider.name: replies.send(try await rider(try decode(GetRider.self, call)))
        case SubmitReport.name: replies.send(try await submitReport(try decode(SubmitReport.self, call)))
        case EndSession.name: replies.send(await endSession(try decode(EndSession.self, call)))
        case ListReports.name: replies.send(try await listReports(try decode(ListReports.self, call)))
        case JudgeReport.name: replies.send(try await judgeReport(try decode(JudgeReport.self, call), peer: peer))
        case GetMetrics.name: replies.send(try await metrics())
        case GetHistory.name: replies.send(try await history(try decode(GetHistory.self, call)))
        case ListEvents.name: replies.send(try await events(try decode(ListEvents.self, call)))
        case ListSilences.name: replies.send(await listSilences())
        case DistrictOutgoing.name: replies.send(try await districtOutgoing(try decode(DistrictOutgoing.self, call)))
        case DistrictAccepted.name: replies.send(try await districtAccepted(try decode(DistrictAccepted.self, call)))
        case DistrictApply.name: replies.send(try await districtApply(try decode(DistrictApply.self, call)))
        case DistrictStatus.name: replies.send(try await districtStatus())
        case DistrictRider.name: replies.send(try await districtRider(try decode(DistrictRider.self, call)))
        case ExpireSilence.name:
            replies.send(try await expireSilence(try decode(ExpireSilence.self, call), peer: peer))
        case NotificationsPending.name: try await notificationsPending(call, peer: peer, replies)
        case NotificationDelivered.name:
            replies.send(try await notificationDelivered(try decode(NotificationDelivered.self, call)))
        case NotificationFailed.name:
            replies.send(try await notificationFailed(try decode(NotificationFailed.self, call)))
        default: throw VarlinkError.methodNotFound(call.method)
        }
    }

    /// A method's typed parameters; a missing or mistyped one is `InvalidParameter` naming it.
    func decode<M: StationMethod>(_ method: M.Type, _ call: VarlinkCall) throws(VarlinkError) -> M.Parameters {
        do {
            return try JSON.object(call.parameters).decode(M.Parameters.self)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .invalidParameter(key.stringValue, reason: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
            let DecodingError.dataCorrupted(context)
        {
            throw .invalidParameter(context.codingPath.first?.stringValue ?? "parameters", reason: "wrong type")
        } catch {
            throw .invalidParameter("parameters")
        }
    }

    static func iso(_ date: Date) -> String { Wire.iso(date) }
}
