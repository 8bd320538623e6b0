import Foundation
import Hummingbird

/// The reports queue: every station's reports, filtered and sorted, with verify/reject for pending
/// ones, dispatch for verified ones and fixed for dispatched ones.
extension DeskWork {
    static let reportWords: [String: (String, String)] = [
        "verified": ("已核实，积分已记入。", "Verified; the points are credited."),
        "rejected": ("已驳回。", "Rejected."),
        "dispatched": ("已派发给部门。", "Dispatched to the department."),
        "fixed": ("已标记为修好。", "Marked fixed."),
    ]

    static func stateName(_ state: String, _ d: DeskRequest) -> String {
        switch state {
        case "pending": d.t("待核实", "Pending")
        case "verified": d.t("已核实", "Verified")
        case "rejected": d.t("已驳回", "Rejected")
        case "dispatched": d.t("已派发", "Dispatched")
        case "fixed": d.t("已修好", "Fixed")
        case "all": d.t("全部", "All")
        default: state
        }
    }

    static func reportsPage(_ d: DeskRequest) async throws -> Response {
        DeskLayout.page(
            d, title: d.t("上报", "Reports"), active: "reports", flash: flash(d, reportWords),
            body: try await reportsBody(d))
    }

    /// The filter from the query: status (default pending), station, category, sort (default oldest).
    static func reportFilter(_ d: DeskRequest) throws(DeskError) -> HubStore.ReportFilter {
        let status = d.query["status"].flatMap { $0.isEmpty ? nil : $0 } ?? "pending"
        guard HubStore.ReportFilter.states.contains(status) else {
            throw .badRequest("status: must be one of \(HubStore.ReportFilter.states.joined(separator: ", "))")
        }
        let sort = d.query["sort"].flatMap { $0.isEmpty ? nil : $0 } ?? "oldest"
        guard sort == "oldest" || sort == "newest" else { throw .badRequest("sort: must be oldest or newest") }
        return HubStore.ReportFilter(
            status: status, station: d.query["station"].flatMap { $0.isEmpty ? nil : $0 },
            category: d.query["category"].flatMap { $0.isEmpty ? nil : $0 }, newestFirst: sort == "newest")
    }

    static func reportsBody(_ d: DeskRequest) async throws -> HTML {
        let filter = try reportFilter(d)
        let reports = try await d.env.store.deskReports(filter)
        let stations = try await d.env.store.stations()
        let categories = try await d.env.store.categories(activeOnly: false)
        let stationName = Dictionary(stations.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let categoryName = Dictionary(
            categories.map { ($0.id, d.t($0.nameZh, $0.name)) }, uniquingKeysWith: { a, _ in a })

        let statusOptions = HubStore.ReportFilter.states.map { s -> HTML in
            "<option value=\"\(s)\"\(selected(s == filter.status))>\(stateName(s, d))</option>"
        }
        let stationOptions = stations.map { s -> HTML in
            "<option value=\"\(s.id)\"\(selected(s.id == filter.station))>\(s.name) (\(s.id))</option>"
        }
        let categoryOptions = categories.map { c -> HTML in
            "<option value=\"\(c.id)\"\(selected(c.id == filter.category))>\(d.t(c.nameZh, c.name))</option>"
        }
        let form: HTML = """
            <form id="reports-filter" class="filter" method="get" action="/desk/reports">
            <label>\(d.t("状态", "Status")) <select name="status">\(statusOptions)</select></label>
            <label>\(d.t("站点", "Station")) <select name="station"><option value="">\(d.t("全部", "All"))</option>\(stationOptions)</select></label>
            <label>\(d.t("类别", "Category")) <select name="category"><option value="">\(d.t("全部", "All"))</option>\(categoryOptions)</select></label>
            <label>\(d.t("排序", "Sort")) <select name="sort"><option value="oldest"\(selected(!filter.newestFirst))>\(d.t("最早在前", "Oldest first"))</option><option value="newest"\(selected(filter.newestFirst))>\(d.t("最新在前", "Newest first"))</option></select></label>
            <button type="submit">\(d.t("筛选", "Filter"))</button></form>
            """
        let rows = reports.map { r -> HTML in
            let category: HTML =
                categoryName[r.category].map { n -> HTML in "\(n)" }
                ?? "\(r.category) <span class=\"dim\">(\(d.t("未知类别", "unknown category")))</span>"
            let station: HTML =
                stationName[r.station].map { n -> HTML in "\(n) <span class=\"dim\">\(r.station)</span>" }
                ?? "\(r.station)"
            var status: HTML = "\(stateName(r.state, d))"
            if let dep = r.department {
                let name = d.env.config.departments.first { $0.id == dep }.map { d.t($0.nameZh, $0.name) } ?? dep
                status += " · \(name)"
            }
            if let note = r.verdictNote { status += "<br><span class=\"dim verdict-note\">\(note)</span>" }
            if let note = r.dispatchNote { status += "<br><span class=\"dim dispatch-note\">\(note)</span>" }
            return """
                <tr data-report="\(r.id)" data-status="\(r.state)"><td class="category">\(category)</td>
                <td class="location">\(r.location)</td><td class="note">\(r.note ?? "")</td>
                <td class="station">\(station)</td>
                <td class="age" title="\(local(r.created, d))">\(age(r.ageSeconds, d))</td>
                <td class="status">\(status)</td><td class="actions">\(actions(r, d))</td></tr>
                """
        }
        let empty: HTML =
            reports.isEmpty
            ? "<p class=\"empty\" id=\"reports-empty\">\(d.t("没有符合条件的上报。", "No reports match."))</p>" : ""
        return """
            <h1>\(d.t("上报", "Reports"))</h1>\(form)
            <p class="count">\(d.t("共 \(reports.count) 条", "\(reports.count) reports"))</p>
            <div class="scroll"><table id="reports"><thead><tr><th>\(d.t("类别", "Category"))</th><th>\(d.t("地点", "Location"))</th>
            <th>\(d.t("说明", "Note"))</th><th>\(d.t("站点", "Station"))</th><th>\(d.t("已过", "Age"))</th>
            <th>\(d.t("状态", "Status"))</th><th>\(d.t("处理", "Action"))</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>\(empty)
            """
    }

    /// The forms a report's row offers a `desk` member in its state.
    static func actions(_ r: HubStore.DeskReport, _ d: DeskRequest) -> HTML {
        guard d.session.role >= .desk else { return "" }
        let filter = filterQuery(d.query)
        let back: HTML = filter.isEmpty ? "" : "<input type=\"hidden\" name=\"back\" value=\"\(filter)\">"
        func form(_ action: String, _ fields: HTML, _ button: String) -> HTML {
            """
            <form class="\(action)" method="post" action="/desk/reports/\(r.id)/\(action)">\(d.csrfField)\(back)\(fields)<button type="submit">\(button)</button></form>
            """
        }
        let note: HTML =
            "<textarea name=\"note\" rows=\"1\" maxlength=\"2000\" placeholder=\"\(d.t("备注", "Note"))\"></textarea>"
        switch r.state {
        case "pending":
            return form("verify", note, d.t("核实", "Verify")) + form("reject", note, d.t("驳回", "Reject"))
        case "verified":
            let options = d.env.config.departments.map { dep -> HTML in
                "<option value=\"\(dep.id)\">\(d.t(dep.nameZh, dep.name))</option>"
            }
            let select: HTML = "<select name=\"department\" required>\(options)</select>"
            return form("dispatch", select + note, d.t("派发", "Dispatch"))
        case "dispatched":
            return form("fixed", note, d.t("已修好", "Mark fixed"))
        default:
            return ""
        }
    }

    /// POST /desk/reports/{id}/{verify|reject|dispatch|fixed}: the change, audited, then 303 to the queue.
    static func judge(_ d: DeskRequest, report: String?, action: String?, _ form: DeskForm) async throws -> Response {
        let id = try number(report, "report")
        let note = try text(form, "note", d.t("备注", "note"), max: 2000)
        let store = d.env.store
        let staff = d.session.staff
        let done: String
        switch action {
        case "verify":
            let points = try await store.verify(report: id, note: note, by: staff)
            try await d.audit(
                "report.verify", target: "\(id)", detail: "\(points) points" + (note.map { ": \($0)" } ?? ""))
            done = "verified"
        case "reject":
            try await store.reject(report: id, note: note, by: staff)
            try await d.audit("report.reject", target: "\(id)", detail: note)
            done = "rejected"
        case "dispatch":
            let department = try form.required("department", d.t("部门", "department"))
            guard d.env.config.departments.contains(where: { $0.id == department }) else {
                throw DeskError.badRequest("department: \"\(department.prefix(32))\" is not one of the district's")
            }
            try await store.dispatch(report: id, department: department, note: note, by: staff)
            try await d.audit("report.dispatch", target: "\(id)", detail: department + (note.map { ": \($0)" } ?? ""))
            done = "dispatched"
        case "fixed":
            try await store.fixed(report: id, note: note, by: staff)
            try await d.audit("report.fixed", target: "\(id)", detail: note)
            done = "fixed"
        default:
            throw DeskError.notFound("no such action")
        }
        let back = filterQuery(DeskForm(urlencoded: form["back"] ?? "").fields.compactMapValues(\.first))
        return d.redirect("/desk/reports?" + (back.isEmpty ? "" : back + "&") + "done=\(done)")
    }

    /// The queue's filter (status, station, category, sort) as a query string, so a change goes back
    /// to the same view; other keys are dropped and values percent-encoded.
    static func filterQuery(_ query: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ["status", "station", "category", "sort"].compactMap { key in
            guard let v = query[key], !v.isEmpty, v.count <= 64 else { return nil }
            return "\(key)=\(v.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }
}
