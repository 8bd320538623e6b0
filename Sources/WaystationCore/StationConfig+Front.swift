extension StationConfig {
    /// Everything the station's front needs: the web process's addresses, the services on offer,
    /// the hazard categories riders report with their points, and the kiosk's settings.
    public struct Front: Sendable, Hashable {
        public var web = Web()
        public var services: [Service] = []
        /// Report categories; `Hazard.defaults` when the config names none.
        public var hazards: [Hazard] = Hazard.defaults
        public var kiosk = Kiosk()
        public init() {}
    }

    /// `[web]`: where `waystation-web` listens.
    public struct Web: Sendable, Hashable {
        /// Kiosk page at `/`, its API at `/api/*`, metrics at `/metrics`.
        public var listen = ListenAddress(host: "127.0.0.1", port: 8480)
        /// `/metrics` alone (e.g. on the station's VPN side).
        public var metricsListen: ListenAddress?
        public init() {}
    }

    /// A host and a TCP port: `127.0.0.1:8480`, `[::1]:9436`.
    public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `HOST:PORT` (an IPv6 host in brackets); nil when it is not one.
        public init?(_ text: String) {
            let hostPart: Substring
            let portPart: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                    return nil
                }
                hostPart = text[text.index(after: text.startIndex)..<close]
                portPart = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                hostPart = text[..<colon]
                portPart = text[text.index(after: colon)...]
                if hostPart.contains(":") { return nil }
            }
            guard !hostPart.isEmpty, let port = Int(portPart), (1...65535).contains(port) else { return nil }
            self.init(host: String(hostPart), port: port)
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// `[[service]]`: a service on offer at the station (legal aid on Tuesday afternoons).
    public struct Service: Sendable, Hashable {
        public static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        public var name: String
        public var nameEn: String?
        /// Three-letter English day names, in week order.
        public var days: [String]
        /// `HH:MM-HH:MM`, station time.
        public var hours: String

        public init(name: String, nameEn: String? = nil, days: [String], hours: String) {
            self.name = name
            self.nameEn = nameEn
            self.days = days
            self.hours = hours
        }
    }

    /// `[[hazard]]`: a category of street hazard riders report, and the points a verified report earns.
    public struct Hazard: Sendable, Hashable {
        public var id: String
        public var name: String
        public var nameEn: String?
        public var points: Int

        public init(id: String, name: String, nameEn: String?, points: Int) {
            self.id = id
            self.name = name
            self.nameEn = nameEn
            self.points = points
        }

        /// The district scheme's usual categories, when a config names none.
        public static let defaults: [Hazard] = [
            Hazard(id: "manhole_cover", name: "井盖破损", nameEn: "Broken manhole cover", points: 10),
            Hazard(id: "fallen_cable", name: "电线掉落", nameEn: "Fallen cable", points: 10),
            Hazard(id: "corridor_charging", name: "楼道充电", nameEn: "Battery charged in a corridor", points: 5),
            Hazard(id: "elderly_visit", name: "独居老人需探访", nameEn: "Elderly neighbour needs a visit", points: 5),
            Hazard(id: "other", name: "其他", nameEn: "Other", points: 2),
        ]
    }

    /// `[kiosk]`: the touch screen at the door.
    public struct Kiosk: Sendable, Hashable {
        /// Places offered as one-tap location chips in the report form (each ≤ 80 characters).
        public var locationPresets: [String] = []
        /// A rider's kiosk session (after a scan) lasts this long without use.
        public var sessionTimeout: Duration = .seconds(180)
        /// One scan per rider per this long; more is refused as rate-limited.
        public var scanInterval: Duration = .seconds(5)
        /// Scans accepted per minute from all riders together.
        public var scansPerMinute: Int = 30
        /// A report is accepted only this soon after the rider's scan (or the rider's last report).
        public var reportWindow: Duration = .seconds(60)
        /// Shown on the kiosk's smoke alarm: the number to call in an emergency (e.g. "119"), and the
        /// station's staff.
        public var emergencyPhone: String?
        public var staffPhone: String?
        public init() {}
    }
}
