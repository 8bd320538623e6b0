import Foundation
import Hummingbird
import WaystationLink

/// The services partners offer at stations: list, add or replace (the same id again), withdraw.
extension DeskWork {
    static let serviceWords: [String: (String, String)] = [
        "saved": ("服务已发布，站点会在下次同步时收到。", "Service published; stations get it at their next sync."),
        "withdrawn": ("服务已撤回。", "Service withdrawn."),
    ]

    static let week: [(id: String, zh: String, en: String)] = [
        ("mon", "周一", "Mon"), ("tue", "周二", "Tue"), ("wed", "周三", "Wed"), ("thu", "周四", "Thu"),
        ("fri", "周五", "Fri"), ("sat", "周六", "Sat"), ("sun", "周日", "Sun"),
    ]

    static func servicesPage(_ d: DeskRequest) async throws -> Response {
        DeskLayout.page(
            d, title: d.t("服务", "Services"), active: "services", flash: flash(d, serviceWords),
            body: try await servicesBody(d))
    }

    static func servicesBody(_ d: DeskRequest) async throws -> HTML {
        let services = try await d.env.store.listServices()
        let all = try await d.env.store.stations()
        let canChange = d.session.role >= .desk
        let rows = services.map { entry -> HTML in
            let s = entry.service
            let days =
                s.days.map { list in
                    list.map { id in week.first { $0.id == id }.map { d.t($0.zh, $0.en) } ?? id }
                        .joined(separator: d.t("、", ", "))
                } ?? d.t("每天", "Every day")
            let withdraw: HTML =
                canChange && !s.withdrawn
                ? """
                <form class="withdraw" method="post" action="/desk/services/\(s.id)/withdraw">\(d.csrfField)<button type="submit">\(d.t("撤回", "Withdraw"))</button></form>
                """ : ""
            let state = s.withdrawn ? d.t("已撤回", "Withdrawn") : d.t("提供中", "Offered")
            return """
                <tr data-service="\(s.id)" data-state="\(s.withdrawn ? "withdrawn" : "offered")"><td class="name"><strong>\(d.t(s.nameZh ?? s.name, s.name))</strong> <span class="dim">\(s.id)</span><br>
                <span class="dim">\(d.t(s.descriptionZh ?? s.description ?? "", s.description ?? s.descriptionZh ?? ""))</span></td>
                <td class="days">\(days)</td><td class="hours">\(s.hours ?? d.t("全天", "All day"))</td>
                <td class="stations">\(stationNames(entry.stations, d, all))</td>
                <td class="state">\(state)</td><td class="actions">\(withdraw)</td></tr>
                """
        }
        let dayBoxes = week.map { day -> HTML in
            "<label class=\"check\"><input type=\"checkbox\" name=\"days\" value=\"\(day.id)\"> \(d.t(day.zh, day.en))</label>"
        }
        let form: HTML =
            canChange
            ? """
            <h2>\(d.t("发布服务（同一编号再次发布即替换）", "Publish a service (the same id again replaces it)"))</h2>
            <form id="service-new" class="stack" method="post" action="/desk/services">\(d.csrfField)
            <label>\(d.t("编号（a-z 0-9 -）", "Id (a-z 0-9 -)")) <input name="id" maxlength="64" required pattern="[a-z0-9][a-z0-9_-]*"></label>
            <label>\(d.t("名称（中文，必填）", "Name (Chinese, required)")) <input name="name_zh" maxlength="200" required></label>
            <label>\(d.t("名称（英文）", "Name (English)")) <input name="name" maxlength="200"></label>
            <label>\(d.t("说明（中文）", "Description (Chinese)")) <textarea name="description_zh" rows="2" maxlength="2000"></textarea></label>
            <label>\(d.t("说明（英文）", "Description (English)")) <textarea name="description" rows="2" maxlength="2000"></textarea></label>
            <fieldset class="days"><legend>\(d.t("日期（不选 = 每天）", "Days (none checked = every day)"))</legend>\(dayBoxes)</fieldset>
            <label>\(d.t("时间（HH:MM-HH:MM，空 = 全天）", "Hours (HH:MM-HH:MM, empty = all day)")) <input name="hours" maxlength="11" placeholder="14:00-17:00" pattern="[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}"></label>
            \(stationBoxes(d, all.filter { !$0.revoked }))
            <button type="submit">\(d.t("发布", "Publish"))</button></form>
            """ : ""
        return """
            <h1>\(d.t("服务", "Services"))</h1>
            <div class="scroll"><table id="services"><thead><tr><th>\(d.t("服务", "Service"))</th><th>\(d.t("日期", "Days"))</th>
            <th>\(d.t("时间", "Hours"))</th><th>\(d.t("站点", "Stations"))</th><th>\(d.t("状态", "State"))</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table></div>\(form)
            """
    }

    /// `HH:MM-HH:MM`, a start before its end (24:00 may end a day).
    static func validHours(_ text: String) -> Bool {
        guard text.range(of: #"^\d{2}:\d{2}-\d{2}:\d{2}$"#, options: .regularExpression) != nil else { return false }
        let minutes = text.split(separator: "-").map { part -> Int? in
            let hm = part.split(separator: ":")
            guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...59).contains(m) else { return nil }
            guard (0...23).contains(h) || (h == 24 && m == 0) else { return nil }
            return h * 60 + m
        }
        guard minutes.count == 2, let start = minutes[0], let end = minutes[1] else { return false }
        return start < end
    }

    /// POST /desk/services: adds or replaces the service of that id (and publishes it again).
    static func putService(_ d: DeskRequest, _ form: DeskForm) async throws {
        let id = try form.required("id", d.t("编号", "id"))
        guard id.range(of: "^[a-z0-9][a-z0-9_-]{0,63}$", options: .regularExpression) != nil else {
            throw DeskError.badRequest(d.t("编号只能用 a-z 0-9 _ -（最多 64 个）。", "id: 1-64 of a-z 0-9 _ -"))
        }
        guard let nameZh = try text(form, "name_zh", d.t("中文名称", "name_zh"), max: 200) else {
            throw DeskError.badRequest(d.t("请填写中文名称。", "name_zh (the Chinese name) is required"))
        }
        let name = try text(form, "name", d.t("英文名称", "name"), max: 200)
        let descriptionZh = try text(form, "description_zh", d.t("中文说明", "description_zh"), max: 2000)
        let description = try text(form, "description", d.t("英文说明", "description"), max: 2000)
        let chosen = Set(form.all("days"))
        if let bad = chosen.first(where: { day in !week.contains { $0.id == day } }) {
            throw DeskError.badRequest("days: \"\(bad.prefix(10))\" is not one of mon…sun")
        }
        let days: [String]? = chosen.isEmpty ? nil : week.map(\.id).filter { chosen.contains($0) }
        let hours = form["hours"]
        if let hours, !validHours(hours) {
            throw DeskError.badRequest(
                d.t(
                    "时间应为 HH:MM-HH:MM，开始早于结束，例如 14:00-17:00。",
                    "hours: expected HH:MM-HH:MM with the start before the end, e.g. 14:00-17:00"))
        }
        let stations = try chosenStations(form, try await d.env.store.stations().filter { !$0.revoked })
        let service = DistrictService(
            id: id, name: name ?? nameZh, nameZh: nameZh, description: description ?? descriptionZh,
            descriptionZh: descriptionZh, days: days, hours: hours, withdrawn: false)
        try await d.env.store.putService(service, stations: stations)
        try await d.audit(
            "service.put", target: id, detail: "\(nameZh) (\(stations?.joined(separator: ",") ?? "all stations"))")
    }

    static func withdrawService(_ d: DeskRequest, _ idText: String?) async throws {
        guard let id = idText, !id.isEmpty, id.count <= 64 else { throw DeskError.notFound("no such service") }
        try await d.env.store.withdrawService(id)
        try await d.audit("service.withdraw", target: id)
    }
}
