import Foundation
import WaystationLink

/// `[desk]`: where the desk reads the fleet's figures and alerts, and its sessions' length.
public struct DeskConfig: Sendable, Equatable {
    /// Base URL of the district Prometheus (HTTP API), e.g. `https://prom.district:9090`; nil: none.
    public var prometheus: String?
    /// Base URL of the district Alertmanager (API v2), e.g. `https://prom.district:9093`; nil: none.
    public var alertmanager: String?
    /// The desk's client certificate and key (PEM) for both, signed by the district CA.
    public var clientCertificate: String?
    public var clientKey: String?
    /// Trust root (PEM) for both; nil: the system's.
    public var ca: String?
    /// Chart.js as Debian's libjs-chart.js installs it (served by the hub itself).
    public var chartjs: String
    /// A desk session's length, hours.
    public var sessionHours: Int

    public static let defaultChartjs = "/usr/share/javascript/chart.js/chart.min.js"

    public init(
        prometheus: String? = nil, alertmanager: String? = nil, clientCertificate: String? = nil,
        clientKey: String? = nil, ca: String? = nil, chartjs: String = DeskConfig.defaultChartjs,
        sessionHours: Int = 12
    ) {
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.ca = ca
        self.chartjs = chartjs
        self.sessionHours = sessionHours
    }
}

/// `[[department]]`: where a verified report is dispatched to be fixed.
public struct DistrictDepartment: Sendable, Equatable {
    public var id: String
    public var name: String
    public var nameZh: String
    public init(id: String, name: String, nameZh: String) {
        self.id = id
        self.name = name
        self.nameZh = nameZh
    }

    public static let defaults = [
        DistrictDepartment(id: "city", name: "City management", nameZh: "城市管理"),
        DistrictDepartment(id: "power", name: "Power supply", nameZh: "供电"),
        DistrictDepartment(id: "community", name: "Community", nameZh: "社区"),
    ]
}

extension HubConfig.Reader {
    func desk(_ root: TOMLValue) throws(HubConfigError) -> DeskConfig {
        var desk = DeskConfig()
        guard root["desk"] != nil else { return desk }
        let t = try table(root, "desk")
        try known(
            t, ["prometheus", "alertmanager", "client_certificate", "client_key", "ca", "chartjs", "session_hours"],
            "desk")
        for key in ["prometheus", "alertmanager"] {
            guard let url = try optionalString(t, key, "desk") else { continue }
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8 else {
                throw HubConfigError(file: path, key: name("desk", key), "\"\(url)\" is not an http(s) URL")
            }
            let trimmed = url.hasSuffix("/") ? String(url.dropLast()) : url
            if key == "prometheus" { desk.prometheus = trimmed } else { desk.alertmanager = trimmed }
        }
        if t["client_certificate"] != nil { desk.clientCertificate = try file(t, "client_certificate", "desk") }
        if t["client_key"] != nil { desk.clientKey = try file(t, "client_key", "desk") }
        guard (desk.clientCertificate == nil) == (desk.clientKey == nil) else {
            throw HubConfigError(file: path, key: "[desk] client_key", "client_certificate and client_key go together")
        }
        if t["ca"] != nil { desk.ca = try file(t, "ca", "desk") }
        if t["chartjs"] != nil { desk.chartjs = try file(t, "chartjs", "desk") }
        if let h = try optionalInt(t, "session_hours", "desk") {
            guard (1...168).contains(h) else {
                throw HubConfigError(file: path, key: "[desk] session_hours", "must be 1...168")
            }
            desk.sessionHours = h
        }
        return desk
    }

    func departments(_ root: TOMLValue) throws(HubConfigError) -> [DistrictDepartment] {
        guard let value = root["department"] else { return DistrictDepartment.defaults }
        guard case .array(let items) = value, !items.isEmpty else {
            throw HubConfigError(file: path, key: "[[department]]", "must be a non-empty array of tables")
        }
        var out: [DistrictDepartment] = []
        for (n, item) in items.enumerated() {
            let (t, id) = try itemID(item, n, "department", extra: [], taken: out.map(\.id))
            let names = try itemNames(item, t)
            out.append(DistrictDepartment(id: id, name: names.name, nameZh: names.nameZh))
        }
        return out
    }
}
