import Foundation
import Hummingbird

extension DeskFleetSection {
    static func severityRank(_ s: String?) -> Int {
        switch s {
        case "critical": 0
        case "warning": 1
        case "info": 2
        default: 3
        }
    }

    /// Critical first, then warning, info, the rest; then by alert name and start.
    static func sortAlerts(_ alerts: [AMAlert]) -> [AMAlert] {
        alerts.sorted {
            (severityRank($0.labels["severity"]), $0.labels["alertname"] ?? "", $0.startsAt)
                < (severityRank($1.labels["severity"]), $1.labels["alertname"] ?? "", $1.startsAt)
        }
    }

    /// One alert: `li.alert[data-alertname][data-severity]`, its summary (escaped: untrusted text).
    static func alertItem(_ d: DeskRequest, _ a: AMAlert) -> HTML {
        let name = a.labels["alertname"] ?? "?"
        let severity = a.labels["severity"] ?? ""
        let summary = a.annotations["summary"] ?? a.annotations["description"] ?? name
        let since = parseTime(a.startsAt).map { formatTime($0, zone: d.env.config.timeZone) } ?? a.startsAt
        let silenced: HTML =
            a.status.state == "suppressed" ? " <span class=\"silenced\">\(d.t("已静默", "silenced"))</span>" : ""
        let slot: HTML = a.labels["slot"].map { " <span class=\"slot-label\">\($0)</span>" } ?? ""
        return """
            <li class="alert" data-alertname="\(name)" data-severity="\(severity)"><span class="summary">\(summary)</span> \
            <small><span class="severity">\(severity)</span> · <code>\(name)</code>\(slot) · \(d.t("自", "since")) \(since)</small>\(silenced)</li>
            """
    }

    /// The alerts page: active alerts grouped by station (stations with a critical one first), the
    /// active silences, and the form for a new one (role desk).
    static func alertsBody(_ d: DeskRequest) async throws -> HTML {
        guard d.env.config.desk.alertmanager != nil else {
            return """
                <h1>\(d.t("告警", "Alerts"))</h1>
                <p class="note" id="alertmanager-none">\(d.t("未配置 Alertmanager（[desk] alertmanager），无法显示告警和静默。", "Alertmanager is not configured ([desk] alertmanager): no alerts or silences to show."))</p>
                """
        }
        let names = Dictionary(
            (try await d.env.store.fleetStations()).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var sections: HTML = ""
        var silences: HTML = ""
        var errors: HTML = ""
        // Both at once: an unreachable Alertmanager costs one 5 s wait, not two.
        let up = d.env.upstream
        async let fetchedAlerts = Result { () async throws(DeskError) in try await up.alerts() }
        async let fetchedSilences = Result { () async throws(DeskError) in try await up.silences() }
        let (alertsResult, silencesResult) = await (fetchedAlerts, fetchedSilences)
        do {
            let alerts = try alertsResult.get()
            let groups = Dictionary(grouping: alerts) { $0.labels["station"] ?? "" }
            let ordered = groups.map { (station: $0.key, alerts: sortAlerts($0.value)) }.sorted {
                (severityRank($0.alerts.first?.labels["severity"]), $0.station)
                    < (severityRank($1.alerts.first?.labels["severity"]), $1.station)
            }
            for g in ordered {
                let title: HTML =
                    g.station.isEmpty
                    ? "\(d.t("区级", "District-wide"))"
                    : "<a href=\"/desk/stations/\(g.station)\">\(names[g.station] ?? g.station)</a> <small>\(g.station)</small>"
                sections += """
                    <section class="station-alerts" data-station="\(g.station)"><h2>\(title)</h2>
                    <ul>\(HTML.join(g.alerts.map { alertItem(d, $0) }))</ul></section>
                    """
            }
            if ordered.isEmpty {
                sections = "<p class=\"note\" id=\"alerts-none\">\(d.t("当前没有告警。", "No active alerts."))</p>"
            }
        } catch {
            errors +=
                "<p class=\"error\" id=\"alertmanager-error\">\(d.t("无法读取告警：", "Cannot read the alerts: "))\(message(error))</p>"
        }
        do {
            let active = try silencesResult.get().filter { $0.status.state == "active" }
                .sorted { $0.endsAt < $1.endsAt }
            silences = silenceTable(d, active)
        } catch {
            // The same failure as the alerts' (Alertmanager down) is said once.
            var same = false
            if case .failure(let first) = alertsResult { same = message(first) == message(error) }
            if !same {
                errors +=
                    "<p class=\"error\" id=\"silences-error\">\(d.t("无法读取静默：", "Cannot read the silences: "))\(message(error))</p>"
            }
        }
        let form: HTML = d.session.role >= .desk ? silenceForm(d, stations: names.keys.sorted()) : ""
        return """
            <h1>\(d.t("告警", "Alerts"))</h1>\(errors)\(sections)
            <h2>\(d.t("静默", "Silences"))</h2>\(silences)\(form)
            """
    }

    static func silenceTable(_ d: DeskRequest, _ silences: [AMSilence]) -> HTML {
        let zone = d.env.config.timeZone
        let rows = silences.map { s -> HTML in
            let matchers = s.matchers.map { m in
                let op = m.isEqual == false ? (m.isRegex ? "!~" : "!=") : (m.isRegex ? "=~" : "=")
                return "\(m.name)\(op)\(m.value)"
            }
            .joined(separator: ", ")
            let ends = parseTime(s.endsAt).map { formatTime($0, zone: zone) } ?? s.endsAt
            let expire: HTML =
                d.session.role >= .desk
                ? """
                <form class="expire" method="post" action="/desk/alerts/silences/\(s.id)/expire">\(d.csrfField)\
                <button type="submit">\(d.t("结束", "Expire"))</button></form>
                """ : ""
            return """
                <tr data-silence="\(s.id)"><td class="matchers"><code>\(matchers)</code></td><td class="created-by">\(s.createdBy)</td>\
                <td class="comment">\(s.comment)</td><td class="ends">\(ends)</td><td>\(expire)</td></tr>
                """
        }
        let empty: HTML = rows.isEmpty ? "<p class=\"note\">\(d.t("没有生效的静默。", "No active silences."))</p>" : ""
        return """
            <div class="scroll"><table id="silences"><thead><tr><th scope="col">\(d.t("匹配", "Matchers"))</th>\
            <th scope="col">\(d.t("创建人", "Created by"))</th><th scope="col">\(d.t("原因", "Comment"))</th>\
            <th scope="col">\(d.t("结束于", "Ends"))</th><th></th></tr></thead><tbody>\(rows)</tbody></table></div>\(empty)
            """
    }

    static func silenceForm(_ d: DeskRequest, stations: [String]) -> HTML {
        let options = HTML.join(stations.map { "<option value=\"\($0)\"></option>" })
        return """
            <form id="silence-new" method="post" action="/desk/alerts/silences" class="card">\(d.csrfField)
            <h3>\(d.t("新建静默", "New silence"))</h3>
            <label>\(d.t("站点编号", "Station id")) <input name="station" required list="station-ids" pattern="[a-z0-9][a-z0-9-]{0,62}"></label>
            <datalist id="station-ids">\(options)</datalist>
            <label>\(d.t("告警名称（留空＝该站全部告警）", "Alert name (empty = all of the station's)")) <input name="alertname"></label>
            <label>\(d.t("时长（小时，1–168）", "Hours (1–168)")) <input name="hours" type="number" min="1" max="168" value="2" required></label>
            <label>\(d.t("原因", "Comment")) <textarea name="comment" required maxlength="500"></textarea></label>
            <button type="submit">\(d.t("静默", "Silence"))</button></form>
            """
    }

    /// `POST /desk/alerts/silences`: checks the form, creates the silence (createdBy = the staff
    /// member), audits `silence.add`; the silence's id.
    static func createSilence(_ d: DeskRequest, _ form: DeskForm) async throws -> String {
        try d.require(.desk)
        let station = try form.required("station", d.t("站点编号", "station"))
        guard isStationID(station) else {
            throw DeskError.badRequest(d.t("站点编号“\(station)”无效。", "\"\(station)\" is not a station id."))
        }
        guard !(try await d.env.store.fleetStations(id: station).isEmpty) else {
            throw DeskError.badRequest(d.t("没有编号为 \(station) 的站点。", "There is no station \(station)."))
        }
        let alertname = form["alertname"]
        if let a = alertname, a.range(of: "^[A-Za-z_][A-Za-z0-9_]{0,127}$", options: .regularExpression) == nil {
            throw DeskError.badRequest(d.t("告警名称“\(a)”无效。", "\"\(a)\" is not an alert name."))
        }
        guard let hours = Int(form["hours"] ?? ""), (1...168).contains(hours) else {
            throw DeskError.badRequest(d.t("时长须为 1 到 168 小时。", "hours must be a whole number 1-168."))
        }
        let comment = try form.required("comment", d.t("原因", "comment"))
        guard comment.count <= 500 else {
            throw DeskError.badRequest(d.t("原因最多 500 字。", "The comment may have at most 500 characters."))
        }
        var matchers = [AMSilence.Matcher(name: "station", value: station)]
        if let alertname { matchers.append(.init(name: "alertname", value: alertname)) }
        let id = try await d.env.upstream.createSilence(
            matchers: matchers, duration: .seconds(hours * 3600), createdBy: d.session.staff, comment: comment)
        try await d.audit(
            "silence.add", target: id,
            detail: "station=\(station)\(alertname.map { " alertname=\($0)" } ?? "") hours=\(hours): \(comment)")
        return id
    }

    /// `POST /desk/alerts/silences/{id}/expire`: ends it, audits `silence.expire`.
    static func expireSilence(_ d: DeskRequest, _ id: String) async throws {
        try d.require(.desk)
        guard DeskUpstream.isUUID(id) else {
            throw DeskError.notFound(d.t("静默编号无效。", "\"\(id)\" is not a silence id."))
        }
        try await d.env.upstream.expireSilence(id)
        try await d.audit("silence.expire", target: id.lowercased())
    }
}
