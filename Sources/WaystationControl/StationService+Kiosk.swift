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
    func kioskStatus() async throws -> GetKioskStatus.Reply {
        let c = await config.current
        var kiosk = KioskStatusBuilder.build(
            config: c, snapshot: await polling.monitor.snapshot(of: nil), latched: await alerts.latchedSlots,
            occupancy: try await visits.store.occupancy(), visitCategories: await visits.categories, now: Date())
        if let district = self.kiosk.district, await district.enrolled != nil {
            kiosk.hazardCategories = await self.kiosk.hazards.map {
                HazardCategory(id: $0.id, name: $0.name, nameEn: $0.nameEn, points: $0.points)
            }
            kiosk.notices = await district.notices()
            kiosk.services += await Self.services(district)
        }
        return GetKioskStatus.Reply(kiosk: kiosk)
    }

    func kioskScan(_ p: KioskScan.Parameters) async throws -> KioskScan.Reply {
        let paused = try await checkInPause()
        let r = try await kioskCall {
            try await kiosk.scan(worker: p.worker, category: p.category, checkInPaused: paused)
        }
        return KioskScan.Reply(
            action: r.action.rawValue, occupancy: r.occupancy, capacity: r.capacity, full: r.full, session: r.session,
            rider: Self.rider(r.rider))
    }

    /// Why check-in is paused right now (smoke at the station), nil when it is not.
    func checkInPause() async throws -> String? {
        let c = await config.current
        return KioskStatusBuilder.smoke(c, await polling.monitor.snapshot(of: nil)).map {
            "smoke detected (\($0)): riders must leave the charging area"
        }
    }

    func rider(_ p: GetRider.Parameters) async throws -> GetRider.Reply {
        GetRider.Reply(rider: Self.rider(try await kioskCall { try await kiosk.rider(session: p.session) }))
    }

    func submitReport(_ p: SubmitReport.Parameters) async throws -> SubmitReport.Reply {
        let (report, rider) = try await kioskCall {
            try await kiosk.submitReport(session: p.session, category: p.category, location: p.location, note: p.note)
        }
        return SubmitReport.Reply(report: Self.report(report, showReporter: false), rider: Self.rider(rider))
    }

    func endSession(_ p: EndSession.Parameters) async -> Empty {
        await kiosk.endSession(p.session)
        return Empty()
    }

    /// Runs a kiosk desk call, turning its refusals into the interface's errors.
    func kioskCall<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as KioskDesk.Refusal {
            throw Self.stationError(refusal)
        } catch let e as VisitError {
            throw VarlinkError.invalidParameter("worker", reason: e.description)
        }
    }

    static func stationError(_ refusal: KioskDesk.Refusal) -> any Error {
        switch refusal {
        case .invalidID(let why): VarlinkError.invalidParameter("worker", reason: why)
        case .unknownCategory(let c, let known): StationError.unknownCategory(category: c, known: known)
        case .rateLimited(let s): StationError.rateLimited(retryAfter: s)
        case .sessionExpired: StationError.sessionExpired
        case .invalidReport(let f, let r): StationError.invalidReport(field: f, reason: r)
        case .reportNotFound(let id): StationError.reportNotFound(id: Int(id))
        case .alreadyJudged(let id, let s): StationError.reportAlreadyJudged(id: Int(id), status: s)
        case .checkInPaused(let why): StationError.checkInPaused(reason: why)
        }
    }

    static func rider(_ r: KioskDesk.Rider) -> RiderSummary {
        RiderSummary(
            points: r.points, reports: r.reports.map { report($0, showReporter: false) }, district: r.district)
    }

    /// A report on the wire; the reporter's pseudonym only for admins.
    static func report(_ r: HazardReportRecord, showReporter: Bool) -> HazardReport {
        HazardReport(
            id: Int(r.id ?? 0), category: r.category, location: r.location, note: r.note,
            createdAt: Wire.iso(r.createdDate), status: r.status.rawValue, points: r.points,
            reporter: showReporter ? r.reporter : nil, judgedBy: r.judgedBy, judgedAt: r.judgedDate.map(Wire.iso),
            judgeNote: r.judgeNote, duplicateOf: r.duplicateOf.map(Int.init))
    }
}
