import Foundation
import Hummingbird

/// The fleet, a station's page and its charts' series, the alerts and silences.
struct DeskFleetSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {
        desk.get("fleet") { request, context in
            await env.handle(request, context) { d in
                let body = try await Self.fleetBody(d)
                return DeskLayout.page(d, title: d.t("站点", "Fleet"), active: "fleet", body: body)
            }
        }
        desk.get("stations/:id") { request, context in
            await env.handle(request, context) { d in
                let id = try Self.stationID(context.parameters.get("id"))
                let (name, body) = try await Self.stationBody(d, id)
                return DeskLayout.page(d, title: name, active: "fleet", body: body)
            }
        }
        desk.get("api/stations/:id/series") { request, context in
            await env.handle(request, context) { d in
                let id = try Self.stationID(context.parameters.get("id"))
                return try d.json(try await Self.series(d, id))
            }
        }
        desk.get("static/chart.min.js") { _, _ in await Self.chartjs(env.config.desk.chartjs) }
        desk.get("alerts") { request, context in
            await env.handle(request, context) { d in
                let body = try await Self.alertsBody(d)
                return DeskLayout.page(
                    d, title: d.t("告警", "Alerts"), active: "alerts", flash: Self.flash(d), body: body)
            }
        }
        desk.post("alerts/silences") { request, context in
            await env.handle(request, context, role: .desk) { d in
                let form = try await DeskForm.read(request, context)
                _ = try await Self.createSilence(d, form)
                return d.redirect("/desk/alerts?done=silenced")
            }
        }
        desk.post("alerts/silences/:id/expire") { request, context in
            await env.handle(request, context, role: .desk) { d in
                try await Self.expireSilence(d, context.parameters.get("id") ?? "")
                return d.redirect("/desk/alerts?done=expired")
            }
        }
    }

    /// A station id fit to go into PromQL and URLs (as enrolment allows them), else 404.
    static func stationID(_ s: String?) throws(DeskError) -> String {
        guard let s, isStationID(s) else { throw .notFound("no such station") }
        return s
    }

    static func isStationID(_ s: String) -> Bool {
        s.range(of: "^[a-z0-9][a-z0-9-]{0,62}$", options: .regularExpression) != nil
    }
}

// MARK: The fleet table

/// One station's row: the hub's record joined with Prometheus's figures (nil: unknown).
struct FleetRow: Sendable, Equatable {
    var station: HubStore.FleetStation
    /// Unix seconds Prometheus last heard from the station.
    var lastSeen: Double?
    var devicesOffline: Int?
    var fridge: Double?
    /// Cut slots: slot id and the interlock's kind.
    var slots: [CutSlot] = []
    var ridersToday: Int?
    var undelivered: Int?
    /// Prometheus answered: a missing series then means "not seen".
    var known: Bool

    struct CutSlot: Sendable, Equatable {
        var slot: String
        var kind: String
    }

    static let warmAbove = 8.0
    static let onlineWithin = 300.0

    func online(now: Double) -> Bool? {
        guard known else { return nil }
        guard let lastSeen else { return false }
        return now - lastSeen <= Self.onlineWithin
    }
    var warm: Bool { (fridge ?? -.infinity) > Self.warmAbove }

    /// `bad` (offline, a slot cut), `warn` (fridge warm, a device offline, undelivered), or nil.
    func severity(now: Double) -> String? {
        if online(now: now) == false || !slots.isEmpty { return "bad" }
        if warm || (devicesOffline ?? 0) > 0 || (undelivered ?? 0) > 0 { return "warn" }
        return nil
    }

    /// Worst first: offline, smoke, other slot cuts, fridge warm, devices offline, undelivered,
    /// pending reports (each larger is worse).
    func badness(now: Double) -> [Double] {
        let smoke = slots.filter { $0.kind == "smoke" }.count
        return [
            online(now: now) == false ? 1 : 0, Double(smoke), Double(slots.count - smoke), warm ? 1 : 0,
            Double(devicesOffline ?? 0), Double(undelivered ?? 0), Double(station.pendingReports),
        ]
    }
}

/// The fleet table's rows and what went wrong fetching Prometheus's side.
struct FleetData: Sendable {
    var rows: [FleetRow]
    /// nil: Prometheus answered (or is not configured: see `configured`).
    var error: String?
    var configured: Bool
    var now: Double
}

extension DeskFleetSection {
    static let queries = (
        lastSeen: "station:waystation_last_seen_timestamp_seconds",
        devicesOffline: "station:waystation_devices_offline:count",
        fridge: "max by (station) (waystation_point_value{kind=\"fridge\",point=\"cabinet_temp\"})",
        slots: "waystation_slot_interlocked == 1",
        undelivered: "sum by (station) (waystation_outbox_pending)",
        riders: "max by (station) (waystation_day_unique_riders)"
    )

    /// The hub's stations joined with Prometheus's six instant queries (by the `station` label).
    static func loadFleet(_ env: DeskEnv, now: Date = Date()) async throws -> FleetData {
        let stations = try await env.store.fleetStations()
        var rows = stations.map { FleetRow(station: $0, known: false) }
        var data = FleetData(
            rows: rows, error: nil, configured: env.config.desk.prometheus != nil, now: now.timeIntervalSince1970)
        guard data.configured else { return data }
        let up = env.upstream
        async let lastSeen = attempt(up, queries.lastSeen)
        async let offline = attempt(up, queries.devicesOffline)
        async let fridge = attempt(up, queries.fridge)
        async let slots = attempt(up, queries.slots)
        async let undelivered = attempt(up, queries.undelivered)
        async let riders = attempt(up, queries.riders)
        let all = await [lastSeen, offline, fridge, slots, undelivered, riders]
        for result in all {
            if case .failure(let e) = result {
                if case .upstream(let m) = e { data.error = m } else { data.error = "\(e)" }
                return data
            }
        }
        func byStation(_ r: Result<[PromSample], DeskError>) -> [String: Double] {
            var out: [String: Double] = [:]
            for s in (try? r.get()) ?? [] {
                if let st = s.labels["station"], s.value.isFinite { out[st] = max(out[st] ?? -.infinity, s.value) }
            }
            return out
        }
        let seen = byStation(all[0])
        let devices = byStation(all[1])
        let temps = byStation(all[2])
        let queued = byStation(all[4])
        let today = byStation(all[5])
        var cuts: [String: [FleetRow.CutSlot]] = [:]
        for s in (try? all[3].get()) ?? [] {
            guard let st = s.labels["station"] else { continue }
            cuts[st, default: []].append(
                .init(
                    slot: s.labels["slot"] ?? "?",
                    kind: s.labels["reason"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"))
        }
        for i in rows.indices {
            let id = rows[i].station.id
            rows[i].known = true
            rows[i].lastSeen = seen[id]
            rows[i].devicesOffline = devices[id].map { Int($0) }
            rows[i].fridge = temps[id]
            rows[i].slots = (cuts[id] ?? []).sorted { ($0.slot.count, $0.slot) < ($1.slot.count, $1.slot) }
            rows[i].undelivered = queued[id].map { Int($0) }
            rows[i].ridersToday = today[id].map { Int($0) }
        }
        data.rows = rows
        return data
    }

    static func attempt(_ up: DeskUpstream, _ expr: String) async -> Result<[PromSample], DeskError> {
        await Result { () async throws(DeskError) in try await up.promQuery(expr) }
    }

    /// Sorts (`worst`, `name`, `id`) and filters (`q` in id, name or address; `only=problems`).
    static func arrange(_ data: FleetData, sort: String?, q: String?, only: String?) -> [FleetRow] {
        var rows = data.rows
        if let q = q?.trimmingCharacters(in: .whitespaces).lowercased(), !q.isEmpty {
            rows = rows.filter { r in
                [r.station.id, r.station.name, r.station.address].contains { $0.lowercased().contains(q) }
            }
        }
        if only == "problems" {
            rows = rows.filter { $0.severity(now: data.now) != nil || $0.station.pendingReports > 0 }
        }
        switch sort {
        case "name": rows.sort { ($0.station.name, $0.station.id) < ($1.station.name, $1.station.id) }
        case "id": rows.sort { $0.station.id < $1.station.id }
        default:
            rows.sort { a, b in
                let x = a.badness(now: data.now)
                let y = b.badness(now: data.now)
                return x != y ? x.lexicographicallyPrecedes(y) == false : a.station.id < b.station.id
            }
        }
        return rows
    }

    /// The fleet page's body: the filter form, a `p.error` when Prometheus failed, the table.
    static func fleetBody(_ d: DeskRequest, now: Date = Date()) async throws -> HTML {
        let data = try await loadFleet(d.env, now: now)
        let sort = ["worst", "name", "id"].contains(d.query["sort"] ?? "") ? d.query["sort"] ?? "worst" : "worst"
        let rows = arrange(data, sort: sort, q: d.query["q"], only: d.query["only"])
        var notes: HTML = ""
        if !data.configured {
            notes =
                "<p class=\"note\" id=\"prometheus-none\">\(d.t("未配置 Prometheus（[desk] prometheus）：在线、设备、冰箱、充电位、今日骑手和未送达通知列显示“—”。", "Prometheus is not configured ([desk] prometheus): the online, devices, fridge, slots, riders and undelivered columns show “—”."))</p>"
        } else if let error = data.error {
            notes =
                "<p class=\"error\" id=\"prometheus-error\">\(d.t("无法读取 Prometheus：", "Cannot read Prometheus: "))\(error)</p>"
        }
        let options: HTML = HTML.join(
            [("worst", "最差优先", "Worst first"), ("name", "按名称", "By name"), ("id", "按编号", "By id")].map { v, zh, en in
                "<option value=\"\(v)\"\(sort == v ? HTML(raw: " selected") : "")>\(d.t(zh, en))</option>"
            })
        let problems: HTML = d.query["only"] == "problems" ? " checked" : ""
        let form: HTML = """
            <form id="fleet-filter" method="get" action="/desk/fleet" class="filter">
            <label>\(d.t("查找", "Find")) <input type="search" name="q" value="\(d.query["q"] ?? "")"></label>
            <label><input type="checkbox" name="only" value="problems"\(problems)> \(d.t("只看有问题的", "Problems only"))</label>
            <label>\(d.t("排序", "Sort")) <select name="sort">\(options)</select></label>
            <button type="submit">\(d.t("筛选", "Filter"))</button></form>
            """
        let head: HTML = HTML.join(
            columns.map { c, zh, en in "<th scope=\"col\" data-col=\"\(c)\">\(d.t(zh, en))</th>" })
        let body = HTML.join(rows.map { row(d, $0, now: data.now) })
        let empty: HTML =
            rows.isEmpty ? "<p class=\"note\" id=\"fleet-empty\">\(d.t("没有符合条件的站点。", "No station matches."))</p>" : ""
        return """
            <h1>\(d.t("站点", "Fleet"))</h1>\(notes)\(form)
            <div class="scroll"><table id="fleet"><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>\(empty)
            """
    }

    /// The table's columns: `data-col`, Chinese, English.
    static let columns = [
        ("name", "站点", "Station"), ("address", "地址", "Address"), ("online", "在线", "Online"),
        ("devices_offline", "离线设备", "Devices offline"), ("fridge", "冰箱", "Fridge"),
        ("slots", "断电充电位", "Slots cut"), ("riders_today", "今日骑手", "Riders today"),
        ("pending_reports", "待审上报", "Pending reports"), ("undelivered", "未送达", "Undelivered"),
    ]

    static func row(_ d: DeskRequest, _ r: FleetRow, now: Double) -> HTML {
        let dash = "—"
        // `data-label`: the column's name, which a phone shows beside each value (the table becomes cards).
        var label: [String: String] = [:]
        for (c, zh, en) in columns { label[c] = d.t(zh, en) }
        func td(_ c: String) -> HTML { "<td data-col=\"\(c)\" data-label=\"\(label[c] ?? c)\"" }
        let cls: HTML = r.severity(now: now).map { " class=\"\($0)\"" } ?? ""
        let online: HTML
        switch r.online(now: now) {
        case nil: online = "\(dash)"
        case let on?:
            let word = on ? d.t("在线", "online") : d.t("离线", "offline")
            let ago = r.lastSeen.map { " · " + Self.ago(d, seconds: now - $0) } ?? d.t(" · 从未", " · never")
            online = "<span class=\"\(on ? "online" : "offline")\">\(word)</span>\(ago)"
        }
        let warm: HTML = r.warm ? " data-warm=\"1\"" : ""
        let fridge = r.fridge.map { String(format: "%.1f °C", $0) } ?? dash
        let slots: HTML =
            r.known
            ? HTML.join(
                r.slots.map { s in
                    "<span class=\"slot\" data-kind=\"\(s.kind)\">\(s.slot) \(slotReason(d, s.kind))</span>"
                }, " ")
            : "\(dash)"
        func number(_ n: Int?) -> String { r.known ? n.map { String($0) } ?? "0" : dash }
        return """
            <tr data-station="\(r.station.id)"\(cls)>\(td("name"))><a href="/desk/stations/\(r.station.id)">\(r.station.name)</a> <small>\(r.station.id)</small></td>
            \(td("address"))>\(r.station.address)</td>\(td("online"))>\(online)</td>
            \(td("devices_offline"))>\(number(r.devicesOffline))</td>\(td("fridge"))\(warm)>\(fridge)</td>
            \(td("slots"))>\(slots)</td>\(td("riders_today"))>\(r.known ? r.ridersToday.map { String($0) } ?? dash : dash)</td>
            \(td("pending_reports"))>\(r.station.pendingReports)</td>\(td("undelivered"))>\(number(r.undelivered))</td></tr>
            """
    }

    /// An interlock's kind in words.
    static func slotReason(_ d: DeskRequest, _ kind: String) -> String {
        switch kind {
        case "overheated": d.t("过热", "overheated")
        case "no_battery": d.t("无电池", "no battery")
        case "smoke": d.t("烟雾", "smoke")
        case "sensor_lost": d.t("传感器失联", "sensor lost")
        case "temperature_rising": d.t("温度上升", "temperature rising")
        case "storage_recovered": d.t("存储恢复待查", "storage recovered")
        default: kind
        }
    }

    /// "N min ago" (hours, days past the hour and the day).
    static func ago(_ d: DeskRequest, seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 3600 { return d.t("\(s / 60) 分钟前", "\(s / 60) min ago") }
        if s < 86400 { return d.t("\(s / 3600) 小时前", "\(s / 3600) h ago") }
        return d.t("\(s / 86400) 天前", "\(s / 86400) d ago")
    }

    /// The `?done=WORD` flash.
    static func flash(_ d: DeskRequest) -> String? {
        switch d.query["done"] {
        case "silenced": d.t("已创建静默。", "Silence created.")
        case "expired": d.t("静默已结束。", "Silence expired.")
        default: nil
        }
    }
}
