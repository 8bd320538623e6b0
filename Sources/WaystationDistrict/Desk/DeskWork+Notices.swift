import Foundation
import Hummingbird

/// Notices for kiosks: list (current, upcoming, expired, withdrawn), publish, withdraw. They reach
/// the chosen stations (or all) through the sync's `changes`; a withdrawal too.
extension DeskWork {
    static let noticeWords: [String: (String, String)] = [
        "published": ("通知已发布，站点会在下次同步时收到。", "Notice published; stations get it at their next sync."),
        "withdrawn": ("通知已撤回。", "Notice withdrawn."),
    ]

    static func noticeState(_ state: String, _ d: DeskRequest) -> String {
        switch state {
        case "current": d.t("生效中", "Current")
        case "upcoming": d.t("未开始", "Upcoming")
        case "expired": d.t("已过期", "Expired")
        case "withdrawn": d.t("已撤回", "Withdrawn")
        default: state
        }
    }

    static func noticesPage(_ d: DeskRequest) async throws -> Response {
        DeskLayout.page(
            d, title: d.t("通知", "Notices"), active: "notices", flash: flash(d, noticeWords),
            body: try await noticesBody(d))
    }

    static func noticesBody(_ d: DeskRequest) async throws -> HTML {
        let notices = try await d.env.store.listNotices()
        let all = try await d.env.store.stations()
        let enrolled = all.filter { !$0.revoked }
        let canChange = d.session.role >= .desk
        // The form's defaults: from the current hour, for a week (in the district's zone).
        let iso = ISO8601DateFormatter()
        let start = iso.string(from: Date())
        let end = iso.string(from: Date(timeIntervalSinceNow: 7 * 86400))
        let rows = notices.map { n -> HTML in
            let withdraw: HTML =
                canChange && n.state != "withdrawn"
                ? """
                <form class="withdraw" method="post" action="/desk/notices/\(n.id)/withdraw">\(d.csrfField)<button type="submit">\(d.t("撤回", "Withdraw"))</button></form>
                """ : ""
            let title = d.t(n.titleZh ?? n.title, n.title)
            let body = d.t(n.bodyZh ?? n.body ?? "", n.body ?? n.bodyZh ?? "")
            return """
                <tr data-notice="\(n.id)" data-state="\(n.state)"><td class="title"><strong>\(title)</strong><br><span class="dim">\(body)</span></td>
                <td class="valid">\(local(n.from, d)) – \(local(n.until, d))</td>
                <td class="stations">\(stationNames(n.stations, d, all))</td>
                <td class="state">\(noticeState(n.state, d))</td><td class="actions">\(withdraw)</td></tr>
                """
        }
        let form: HTML =
            canChange
            ? """
            <h2>\(d.t("发布通知", "Publish a notice"))</h2>
            <form id="notice-new" class="stack" method="post" action="/desk/notices">\(d.csrfField)
            <label>\(d.t("标题（中文，必填）", "Title (Chinese, required)")) <input name="title_zh" maxlength="200" required></label>
            <label>\(d.t("标题（英文）", "Title (English)")) <input name="title" maxlength="200"></label>
            <label>\(d.t("内容（中文）", "Text (Chinese)")) <textarea name="body_zh" rows="3" maxlength="2000"></textarea></label>
            <label>\(d.t("内容（英文）", "Text (English)")) <textarea name="body" rows="3" maxlength="2000"></textarea></label>
            <label>\(d.t("开始", "Valid from")) <input name="valid_from" type="datetime-local" required value="\(local(start, d, format: "yyyy-MM-dd'T'HH:00"))"></label>
            <label>\(d.t("结束", "Valid until")) <input name="valid_until" type="datetime-local" required value="\(local(end, d, format: "yyyy-MM-dd'T'HH:00"))"></label>
            <p class="dim">\(d.t("时间按本区时区（\(d.env.config.timeZone)）。", "Times are in the district's zone (\(d.env.config.timeZone))."))</p>
            \(stationBoxes(d, enrolled))
            <button type="submit">\(d.t("发布", "Publish"))</button></form>
            """ : ""
        return """
            <h1>\(d.t("通知", "Notices"))</h1>
            <div class="scroll"><table id="notices"><thead><tr><th>\(d.t("标题", "Title"))</th><th>\(d.t("有效期", "Valid"))</th>
            <th>\(d.t("站点", "Stations"))</th><th>\(d.t("状态", "State"))</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table></div>\(form)
            """
    }

    /// POST /desk/notices: the new notice's id.
    static func addNotice(_ d: DeskRequest, _ form: DeskForm) async throws -> Int {
        guard let titleZh = try text(form, "title_zh", d.t("中文标题", "title_zh"), max: 200) else {
            throw DeskError.badRequest(d.t("请填写中文标题。", "title_zh (the Chinese title) is required"))
        }
        let title = try text(form, "title", d.t("英文标题", "title"), max: 200)
        let bodyZh = try text(form, "body_zh", d.t("中文内容", "body_zh"), max: 2000)
        let body = try text(form, "body", d.t("英文内容", "body"), max: 2000)
        let tz = zone(d)
        func time(_ key: String, _ what: String) throws(DeskError) -> String {
            let raw = try form.required(key, what)
            guard let t = parseLocal(raw, zone: tz) else {
                throw .badRequest("\(what): \"\(raw.prefix(30))\" is not a date and time (YYYY-MM-DDTHH:MM)")
            }
            return t
        }
        let from = try time("valid_from", d.t("开始时间", "valid_from"))
        let until = try time("valid_until", d.t("结束时间", "valid_until"))
        guard until > from else {
            throw DeskError.badRequest(d.t("结束时间必须晚于开始时间。", "valid_until must be after valid_from"))
        }
        let stations = try chosenStations(form, try await d.env.store.stations().filter { !$0.revoked })
        let id = try await d.env.store.addNotice(
            title: title ?? titleZh, titleZh: titleZh, body: body, bodyZh: bodyZh, from: from, until: until,
            stations: stations)
        try await d.audit(
            "notice.add", target: "\(id)",
            detail: "\(titleZh) (\(stations?.joined(separator: ",") ?? "all stations"))")
        return id
    }

    static func withdrawNotice(_ d: DeskRequest, _ idText: String?) async throws {
        let id = try number(idText, "notice")
        try await d.env.store.withdrawNotice(id)
        try await d.audit("notice.withdraw", target: "\(id)")
    }
}
