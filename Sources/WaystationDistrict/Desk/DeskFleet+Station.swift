import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// The station page's five charts and their series, as `GET /desk/api/stations/{id}/series` answers.
struct ChartSeries: Encodable, Sendable, Equatable {
    var unit: String
    var series: [Line]
    /// The period asked for (unix seconds): the chart's x axis spans it even where data is missing.
    var start: Double
    var end: Double
    struct Line: Encodable, Sendable, Equatable {
        var label: String
        /// `[unix_s, value]` pairs.
        var points: [[Double]]
    }
}

extension DeskFleetSection {
    /// Each chart: id, Chinese and English title, the unit when the series carry none.
    static let charts: [(id: String, zh: String, en: String, unit: String)] = [
        ("room", "室温", "Room temperature", "celsius"), ("fridge", "冰箱温度", "Fridge temperature", "celsius"),
        ("slots", "充电位温度", "Slot temperatures", "celsius"), ("occupancy", "在站人数", "Occupancy", "riders"),
        ("power", "功率", "Power", "watts"),
    ]

    /// The PromQL of a chart for a station id already checked by `isStationID`.
    static func chartQuery(_ chart: String, station: String) -> String? {
        guard isStationID(station) else { return nil }
        let point = "waystation_point_value{station=\"\(station)\","
        switch chart {
        case "room": return point + "point=\"room_temp\"}"
        case "fridge": return point + "point=\"cabinet_temp\"}"
        case "slots": return point + "point=~\"slot[0-9]+_temp\"}"
        case "occupancy": return "waystation_occupancy_riders{station=\"\(station)\"}"
        case "power": return point + "point=\"power\"}"
        default: return nil
        }
    }

    /// `?chart=…&hours=24`: the last `hours` (1-168) of the chart, one point per 5 min.
    static func series(_ d: DeskRequest, _ station: String, now: Date = Date()) async throws -> ChartSeries {
        let chart = d.query["chart"] ?? ""
        guard let spec = charts.first(where: { $0.id == chart }), let expr = chartQuery(chart, station: station) else {
            throw DeskError.badRequest("chart must be one of room, fridge, slots, occupancy, power")
        }
        let hours = Int(d.query["hours"] ?? "24") ?? 0
        guard (1...168).contains(hours) else { throw DeskError.badRequest("hours must be 1-168") }
        let end = now.timeIntervalSince1970
        let start = end - Double(hours) * 3600
        let found = try await d.env.upstream.promRange(expr, start: start, end: end, step: 300)
        var unit = spec.unit
        let lines = found.map { s -> ChartSeries.Line in
            if let u = s.labels["unit"], !u.isEmpty { unit = u }
            let label =
                chart == "slots"
                ? s.labels["point"] ?? "?" : chart == "occupancy" ? "riders" : s.labels["device"] ?? chart
            return .init(label: label, points: s.points.filter { $0.value.isFinite }.map { [$0.time, $0.value] })
        }
        return ChartSeries(
            unit: unit, series: lines.sorted { ($0.label.count, $0.label) < ($1.label.count, $1.label) }, start: start,
            end: end)
    }

    /// The station page: name, details, the five charts, its active alerts. Returns the name (title).
    static func stationBody(_ d: DeskRequest, _ id: String) async throws -> (String, HTML) {
        guard let s = try await d.env.store.fleetStations(id: id).first else {
            throw DeskError.notFound(d.t("没有编号为 \(id) 的站点。", "There is no station \(id)."))
        }
        let zone = d.env.config.timeZone
        func when(_ rfc3339: String?) -> String {
            guard let r = rfc3339, let date = parseTime(r) else { return "—" }
            return formatTime(date, zone: zone)
        }
        let revoked: HTML =
            s.revoked
            ? "<p class=\"error\" id=\"station-revoked\">\(d.t("此站点已被撤销。", "This station is revoked."))</p>" : ""
        let details: [(String, String, String, String)] = [
            ("id", "编号", "Id", s.id), ("address", "地址", "Address", s.address),
            ("last_seen", "最后同步", "Last seen", when(s.lastSeen)), ("software", "软件", "Software", s.software ?? "—"),
            ("config_hash", "配置哈希", "Config hash", s.configHash ?? "—"),
            ("enrolled", "登记时间", "Enrolled", when(s.enrolled)),
            ("pending_reports", "待审上报", "Pending reports", String(s.pendingReports)),
        ]
        let dl = HTML.join(details.map { k, zh, en, v in "<dt>\(d.t(zh, en))</dt><dd data-field=\"\(k)\">\(v)</dd>" })
        let charts: HTML
        if d.env.config.desk.prometheus == nil {
            charts =
                "<p class=\"note\" id=\"prometheus-none\">\(d.t("未配置 Prometheus，没有图表。", "Prometheus is not configured: no charts."))</p>"
        } else {
            charts =
                HTML.join(
                    Self.charts.map { c in
                        """
                        <section class="chart"><h3>\(d.t(c.zh, c.en))</h3>\
                        <canvas id="chart-\(c.id)" data-series="/desk/api/stations/\(id)/series?chart=\(c.id)&amp;hours=24" \
                        data-unit="\(c.unit)" role="img" aria-label="\(d.t(c.zh, c.en))"></canvas></section>
                        """
                    }) + "<script src=\"/desk/static/chart.min.js\" defer></script>"
        }
        let alerts = await stationAlerts(d, id)
        let body: HTML = """
            <p><a href="/desk/fleet">\(d.t("← 全部站点", "← All stations"))</a></p>
            <h1 id="station-name">\(s.name)</h1>\(revoked)
            <dl id="station-details">\(dl)</dl>
            <h2>\(d.t("告警", "Alerts"))</h2>\(alerts)
            <h2>\(d.t("最近 24 小时", "The last 24 hours"))</h2><div class="charts">\(charts)</div>
            """
        return (s.name, body)
    }

    /// The station's active alerts (`ul#station-alerts`), or why they cannot be shown.
    static func stationAlerts(_ d: DeskRequest, _ id: String) async -> HTML {
        guard d.env.config.desk.alertmanager != nil else {
            return
                "<p class=\"note\" id=\"alertmanager-none\">\(d.t("未配置 Alertmanager。", "Alertmanager is not configured."))</p>"
        }
        do {
            let alerts = sortAlerts(try await d.env.upstream.alerts().filter { $0.labels["station"] == id })
            if alerts.isEmpty {
                return "<ul id=\"station-alerts\"></ul><p class=\"note\">\(d.t("没有告警。", "No active alerts."))</p>"
            }
            return "<ul id=\"station-alerts\">\(HTML.join(alerts.map { alertItem(d, $0) }))</ul>"
        } catch {
            return
                "<p class=\"error\" id=\"alertmanager-error\">\(d.t("无法读取 Alertmanager：", "Cannot read Alertmanager: "))\(message(error))</p>"
        }
    }

    static func message(_ error: any Error) -> String {
        if let e = error as? DeskError, case .upstream(let m) = e { return m }
        return String(describing: error)
    }

    /// Serves Debian's Chart.js (read off the event loop); 404 naming the path when it is missing.
    static func chartjs(_ path: String) async -> Response {
        let bytes = try? await NIOThreadPool.singleton.runIfActive { try Data(contentsOf: URL(fileURLWithPath: path)) }
        guard let bytes else {
            return Response(
                status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: "Chart.js not found at \(path) ([desk] chartjs; apt install libjs-chart.js)\n")))
        }
        return DeskApp.asset(Array(bytes), "text/javascript; charset=utf-8")
    }

    /// RFC 3339 (with or without fractional seconds) to a date.
    static func parseTime(_ s: String) -> Date? {
        if let d = try? Date(s, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return d }
        if let d = try? Date(s, strategy: Date.ISO8601FormatStyle()) { return d }
        // Alertmanager writes nanoseconds and offsets; keep to the second.
        if s.count >= 19, let d = try? Date(String(s.prefix(19)) + "Z", strategy: Date.ISO8601FormatStyle()) {
            return s.hasSuffix("Z") || s.count == 19 ? d : nil
        }
        return nil
    }

    /// `yyyy-MM-dd HH:mm` in the district's zone.
    static func formatTime(_ date: Date, zone: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone) ?? .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }
}
