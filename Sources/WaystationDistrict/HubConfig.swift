import DistrictStorage
import Foundation
import WaystationLink

/// `hub.toml`: the district hub's config. Relative file paths are relative to the config's folder.
public struct HubConfig: Sendable {
    public struct Listen: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var path: String
    /// `[district] id, name, time_zone` (default Asia/Shanghai: "today" is that zone's calendar day).
    public var districtID: String
    public var districtName: String
    public var timeZone: String
    /// `[database] url`.
    public var database: DatabaseURL
    /// `[web] listen`: Open311, and the sync API unless `[sync] listen` is set.
    public var web: Listen
    /// `[sync] listen`: the sync API on a listener of its own (optional).
    public var sync: Listen?
    /// `[tls] certificate, key, ca` (PEM files; `ca` is what stations get as their only trust root).
    public var certificate: String
    public var key: String
    public var ca: String
    /// `[privacy] rider_key` (HMAC key of district pseudonyms), `hpke_key` (X25519 private key).
    public var riderKey: String
    public var hpkeKey: String
    /// `[[category]] id, name, name_zh, points`.
    public var categories: [DistrictCategory]
    /// `[limits] lookups_per_hour` per station (default 1,000).
    public var lookupsPerHour: Int
    /// `[desk]`: the district desk's Prometheus, Alertmanager, Chart.js and sessions.
    public var desk: DeskConfig = DeskConfig()
    /// `[[department]]`: where verified reports are dispatched (default: city, power, community).
    public var departments: [DistrictDepartment] = DistrictDepartment.defaults

    /// Reads and checks `path`; errors name the file and the key.
    public static func load(_ path: String) throws(HubConfigError) -> HubConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HubConfigError(file: path, key: nil, "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw HubConfigError(file: path, key: nil, "is not UTF-8")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(HubConfigError) -> HubConfig {
        let root: TOMLValue
        do {
            root = try TOMLValue.parse(text)
        } catch {
            throw HubConfigError(file: path, key: nil, "line \(error.line), column \(error.column): \(error.message)")
        }
        let reader = Reader(path: path, dir: (path as NSString).deletingLastPathComponent)
        try reader.known(
            root,
            [
                "district", "database", "web", "sync", "tls", "privacy", "category", "limits", "desk", "department",
            ], "")
        let district = try reader.table(root, "district")
        try reader.known(district, ["id", "name", "time_zone"], "district")
        let id = try reader.string(district, "id", "district")
        guard id.range(of: "^[a-z0-9][a-z0-9-]{0,62}$", options: .regularExpression) != nil else {
            throw HubConfigError(file: path, key: "[district] id", "must be 1-63 of a-z 0-9 - (starting a-z 0-9)")
        }
        let zone = try reader.optionalString(district, "time_zone", "district") ?? "Asia/Shanghai"
        guard TimeZone(identifier: zone) != nil else {
            throw HubConfigError(file: path, key: "[district] time_zone", "\"\(zone)\" is not a known time zone")
        }
        let database = try reader.table(root, "database")
        try reader.known(database, ["url"], "database")
        let url: DatabaseURL
        do {
            url = try DatabaseURL(parsing: try reader.string(database, "url", "database"))
        } catch let error as HubConfigError {
            throw error
        } catch {
            throw HubConfigError(file: path, key: "[database] url", "\(error)")
        }
        let web = try reader.table(root, "web")
        try reader.known(web, ["listen"], "web")
        var sync: Listen?
        if root["sync"] != nil {
            let table = try reader.table(root, "sync")
            try reader.known(table, ["listen"], "sync")
            sync = try reader.listen(table, "sync")
        }
        let tls = try reader.table(root, "tls")
        try reader.known(tls, ["certificate", "key", "ca"], "tls")
        let privacy = try reader.table(root, "privacy")
        try reader.known(privacy, ["rider_key", "hpke_key"], "privacy")
        var lookups = 1000
        if root["limits"] != nil {
            let limits = try reader.table(root, "limits")
            try reader.known(limits, ["lookups_per_hour"], "limits")
            if let n = try reader.optionalInt(limits, "lookups_per_hour", "limits") {
                guard n >= 1 else { throw HubConfigError(file: path, key: "[limits] lookups_per_hour", "must be ≥ 1") }
                lookups = n
            }
        }
        var config = HubConfig(
            path: path, districtID: id,
            districtName: try reader.optionalString(district, "name", "district") ?? id, timeZone: zone,
            database: url, web: try reader.listen(web, "web"), sync: sync,
            certificate: try reader.file(tls, "certificate", "tls"), key: try reader.file(tls, "key", "tls"),
            ca: try reader.file(tls, "ca", "tls"), riderKey: try reader.file(privacy, "rider_key", "privacy"),
            hpkeKey: try reader.file(privacy, "hpke_key", "privacy"), categories: try reader.categories(root),
            lookupsPerHour: lookups)
        config.desk = try reader.desk(root)
        config.departments = try reader.departments(root)
        return config
    }
}

/// A config error: `FILE: [table] key: what`. `waystation-district` exits 78 (EX_CONFIG) on it.
public struct HubConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var key: String?
    public var message: String
    public init(file: String, key: String?, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }
    public var description: String { key.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)" }
}
