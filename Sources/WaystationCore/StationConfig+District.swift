extension StationConfig {
    /// `[district]`: where the station's district hub is and the files its enrolment wrote. The
    /// daemon itself makes no request to the hub (its uplink process does, over the control socket);
    /// it needs only the hub's rider key, to seal a rider's id so that only the hub can open it.
    public struct District: Sendable, Hashable {
        /// The hub's base URL (https only).
        public var url: String
        /// The station's id at the hub (default: `[station] id`).
        public var station: String
        /// The station's bearer credential (read by the uplink, not by the daemon).
        public var tokenFile: String
        /// The CA certificate the hub's TLS certificate must chain to (read by the uplink).
        public var caFile: String
        /// The hub's HPKE public key (X25519, 32 raw bytes, base64).
        public var riderKeyFile: String
        /// The key itself; nil when the file exists but this process may not read it (waystation-web
        /// loads the same config without needing the key; the daemon refuses to start without it).
        public var riderKey: [UInt8]?
        /// How often waystation-uplink asks the hub for what is new while nothing waits to go up
        /// (`sync_interval`, default 60 s: one small round trip a minute on a paid 4G link).
        public var syncInterval: Duration = .seconds(60)

        public init(
            url: String, station: String, tokenFile: String, caFile: String, riderKeyFile: String, riderKey: [UInt8]?
        ) {
            self.url = url
            self.station = station
            self.tokenFile = tokenFile
            self.caFile = caFile
            self.riderKeyFile = riderKeyFile
            self.riderKey = riderKey
        }
    }
}
