import WaystationCore
import WaystationVisits

extension StationService {
    func listReports(_ p: ListReports.Parameters) async throws -> ListReports.Reply {
        var status: HazardReportRecord.Status?
        if let text = p.status {
            guard let s = HazardReportRecord.Status(rawValue: text) else {
                throw VarlinkError.invalidParameter("status", reason: "pending, verified or rejected")
            }
            status = s
        }
        if let limit = p.limit, limit < 1 { throw VarlinkError.invalidParameter("limit", reason: "1 or more") }
        let list = try await kiosk.reports.list(
            status: status, since: try date(p.since, "since"), until: try date(p.until, "until"), limit: p.limit)
        return ListReports.Reply(reports: list.map { Self.report($0, showReporter: true) })
    }

    func judgeReport(_ p: JudgeReport.Parameters, peer: Peer) async throws -> JudgeReport.Reply {
        guard ["verified", "rejected"].contains(p.verdict) else {
            throw VarlinkError.invalidParameter("verdict", reason: "verified or rejected")
        }
        let r = try await kioskCall {
            try await kiosk.judge(
                id: Int64(p.id), verified: p.verdict == "verified", note: p.note, by: peer.userName, uid: peer.uid)
        }
        return JudgeReport.Reply(report: Self.report(r, showReporter: true))
    }
}
