/// The station config (`/etc/waystation/station.toml`, BRIEF 4.1), validated and with profiles resolved.
public struct StationConfig: Sendable {
    public struct Station: Sendable, Hashable {
        public var id: String
        public var name: String
        public var capacity: Int
        /// The district the station belongs to (a label on its alerts, metrics and reports).
        public var district: String?
        /// Where the station is (a label on `waystation_build_info`).
        public var address: String?
        /// The station's time zone (`Asia/Shanghai`); nil: the system's (`TZ`, else /etc/localtime).
        public var timeZone: String?
    }

    public struct Storage: Sendable, Hashable {
        public var path: String
        /// How long raw value rows are kept.
        public var retainValues: Duration
        /// How long 1-minute aggregates are kept.
        public var retainAggregates: Duration
        /// How long resolved alerts, delivered notifications and expired silences are kept.
        public var retainAlerts: Duration = .seconds(90 * 86400)
        /// A steady value is still stored at least this often.
        public var heartbeat: Duration
        /// Value history is kept in memory and written at most this often, in one transaction
        /// (flash wear): a power cut loses at most this much history (SIGTERM flushes it). State
        /// changes, alerts, visits and slot locks are written at once.
        public var flushInterval: Duration = .seconds(600)
        /// Prune only while the kernel says the clock is synchronised (see `RetentionClock`).
        public var requireSynchronisedClock = true
    }

    public struct Control: Sendable, Hashable {
        public var socket: String
        public var adminGroup: String?
        /// Members may check riders in and out (the kiosk's process).
        public var kioskGroup: String? = "waystation-kiosk"
        /// Members may call the district link's methods (the `waystation-uplink` process).
        public var uplinkGroup: String? = "waystation-uplink"
        /// A connection with no complete message for this long is closed.
        public var idleTimeout: Duration = .seconds(60)
    }

    /// One connection that requests are serialised on.
    public struct Bus: Sendable, Hashable {
        public enum Transport: Sendable, Hashable {
            case tcp(host: String, port: Int)
            case rtu(serial: String, baud: Int, parity: Parity, dataBits: Int, stopBits: Int, rs485: Bool)
            /// RTU frames in a TCP stream: an Ethernet-to-serial gateway in transparent mode.
            case rtuOverTCP(host: String, port: Int)
        }

        public enum Parity: String, Sendable, Hashable, CaseIterable {
            case none, even, odd
            /// libmodbus's letter.
            public var letter: Character {
                switch self {
                case .none: "N"
                case .even: "E"
                case .odd: "O"
                }
            }
        }

        public var name: String
        public var transport: Transport
        /// Response timeout.
        public var timeout: Duration
        /// Byte (inter-character) timeout.
        public var byteTimeout: Duration
        /// Pause between frames on this bus.
        public var frameDelay: Duration
        /// First and largest reconnect back-off after a connection error.
        public var reconnectMin: Duration
        public var reconnectMax: Duration

        public var isRTU: Bool {
            if case .rtu = transport { return true }
            return false
        }
    }

    public struct Device: Sendable, Hashable {
        public var id: String
        public var profile: Profile
        public var bus: String
        public var unit: Int
        public var interval: Duration
    }

    public struct Slot: Sendable, Hashable {
        public var id: String
        public var relay: PointRef
        public var temperature: PointRef
        public var maxTemperature: Double
        public var current: PointRef?
        public var batteryPresent: PointRef?
        /// Rate-of-rise limit in °C per second (`max_rise = "5 °C/min"`); nil: not checked.
        public var maxRise: Double?
        /// The window the rise is measured over.
        public var riseWindow: Duration = .seconds(60)
        /// How long the temperature may be unknown (missing, a sentinel, not finite, stale, unreadable)
        /// before the slot is cut: by default two poll cycles of the temperature's device.
        public var sensorGrace: Duration = .seconds(2)
        /// A reading older than this is stale: by default three poll cycles.
        public var staleAfter: Duration = .seconds(3)

        public init(
            id: String, relay: PointRef, temperature: PointRef, maxTemperature: Double, current: PointRef? = nil,
            batteryPresent: PointRef? = nil
        ) {
            self.id = id
            self.relay = relay
            self.temperature = temperature
            self.maxTemperature = maxTemperature
            self.current = current
            self.batteryPresent = batteryPresent
        }
    }

    /// `[interlock]`: smoke inputs and how long they may be unknown.
    public struct Interlock: Sendable, Hashable {
        public var smoke: [PointRef] = []
        public var smokeGrace: Duration = .seconds(2)
        public var smokeStaleAfter: Duration = .seconds(3)
        public init() {}
    }

    /// `device.point`.
    public struct PointRef: Sendable, Hashable, CustomStringConvertible {
        public var device: String
        public var point: String
        public var description: String { "\(device).\(point)" }

        public init(device: String, point: String) {
            self.device = device
            self.point = point
        }
    }

    /// Where alert notifications go (`[[notify]]`).
    public struct Notify: Sendable, Hashable {
        public var name: String
        public var kind: NotifyKind
        public var url: String?
        /// exec: the program and its arguments (no shell).
        public var command: [String]
        public var timeout: Duration
        /// Reminders for alerts still firing.
        public var repeatInterval: Duration
        /// alertmanager: how often firing alerts are re-sent (and resolved ones, for a while).
        public var resendInterval: Duration
        /// webhook: hazard reports go here too (see `HazardReport`), through the same outbox.
        public var reports: Bool = false
        /// https: the CA certificate (PEM) the receiver's certificate must chain to, instead of the
        /// system's; a client certificate and its key (PEM) when the receiver asks for one. Paths
        /// as given, relative ones resolved against the config's directory. Read by waystation-uplink.
        public var ca: String? = nil
        public var certificate: String? = nil
        public var key: String? = nil
    }

    /// Polling tunables (`[polling]`).
    public struct Polling: Sendable, Hashable {
        /// Failed polls in a row that make a device offline.
        public var offlineAfterFailures: Int = 3
        /// No good read for this long makes a device offline.
        public var offlineAfter: Duration = .seconds(60)
        /// Longest back-off for a failing device.
        public var maxBackoff: Duration = .seconds(60)
        /// Largest hole (registers) a merged read may span.
        public var mergeGap: Int = 8
        public init() {}
    }

    /// Check-ins (`[visits]`).
    public struct Visits: Sendable, Hashable {
        public var categories: [String] = ["courier", "food_delivery", "ride_hailing", "other"]
        /// A visit left open longer than this closes itself.
        public var maxStay: Duration = .seconds(12 * 3600)
        /// Visits older than this are deleted.
        public var retention: Duration = .seconds(90 * 86400)
        /// The per-station key for pseudonymising rider ids (created on first start, mode 0600).
        public var secretPath: String = ""
        public init() {}
    }

    public var path: String
    public var polling = Polling()
    public var visits = Visits()
    public var station: Station
    public var storage: Storage
    public var control: Control
    public var profilePaths: [String]
    public var buses: [Bus]
    public var devices: [Device]
    public var slots: [Slot]
    public var smoke: [PointRef]
    public var interlock = Interlock()
    /// Station rules (add to and override the profiles' defaults).
    public var alerts: [AlertRuleSpec]
    public var notify: [Notify]
    public var logLevel: String
    /// The web face and the kiosk: `[web]`, `[[service]]`, `[[hazard]]`, `[kiosk]` (StationConfig+Web).
    public var front = Front()
    /// `[district]`: the station is enrolled at a district hub (StationConfig+District); nil: on its own.
    public var district: District?

    public func bus(named name: String) -> Bus? { buses.first { $0.name == name } }
    public func device(id: String) -> Device? { devices.first { $0.id == id } }
    public func devices(onBus name: String) -> [Device] { devices.filter { $0.bus == name } }

    /// The rule every device has: offline for a minute.
    public static let offlineRule = AlertRuleSpec(
        name: "DeviceOffline", when: .offline, forDuration: .seconds(60), severity: .warning,
        summary: "{device} is not answering")

    /// Every rule that applies to a device: its profile's defaults, the built-in offline rule, and
    /// the station's rules, a station rule overriding a default of the same name.
    public func rules(for device: Device) -> [AlertRuleSpec] {
        var byName: [String: AlertRuleSpec] = [Self.offlineRule.name: Self.offlineRule]
        for rule in device.profile.alerts { byName[rule.name] = rule }
        for rule in alerts {
            let applies = rule.device.map { $0 == device.id } ?? rule.kind.map { $0 == device.profile.kind } ?? true
            if applies { byName[rule.name] = rule }
        }
        return byName.keys.sorted().compactMap { byName[$0] }
    }
}
