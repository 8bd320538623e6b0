import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationProtocol

/// `waystation-web`: the kiosk page, its API and `/metrics` on `[web] listen`, and `/metrics` alone
/// on `[web] metrics_listen` when set; fed by the daemon's control socket.
public struct WebServer: Sendable {
    public let config: StationConfig
    public let socketPath: String
    let logger: Logger

    public init(config: StationConfig, socketPath: String? = nil, logger: Logger) {
        self.config = config
        self.socketPath = socketPath ?? config.control.socket
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT.
    public func run() async throws {
        let limits = WebLimits(fileLimit: WebLimits.raiseFileLimit())
        let link = DaemonLink(socketPath: socketPath)
        let feed = KioskFeed(link: link, logger: logger)
        let identity = MetricsExposition.Identity(
            version: WaystationVersion.string, station: config.station.id, district: config.station.district)
        let api = KioskAPI(link: link, feed: feed, identity: identity, logger: logger)
        let trimmer = HeapTrimmer()
        var services: [any Service] = [feed]
        if let m = config.front.web.metricsListen {
            let gate = ConnectionGate(name: "metrics_listen", limits: limits.metrics, trimmer: trimmer)
            services.append(
                Application(
                    router: api.metricsRouter(), server: Self.http1(gate, limits),
                    configuration: .init(address: .hostname(m.host, port: m.port), serverName: nil),
                    logger: logger))
        }
        let listen = config.front.web.listen
        let gate = ConnectionGate(name: "listen", limits: limits.kiosk, trimmer: trimmer)
        let app = Application(
            router: api.router(), server: Self.http1(gate, limits),
            configuration: .init(address: .hostname(listen.host, port: listen.port)),
            services: services, logger: logger)
        logger.info(
            "waystation-web starting",
            metadata: [
                "listen": "\(listen)", "metrics_listen": "\(config.front.web.metricsListen?.description ?? "-")",
                "socket": "\(socketPath)", "max_connections": "\(limits.kiosk.maxConnections)",
                "metrics_max_connections": "\(limits.metrics.maxConnections)",
            ])
        try await app.runService()
    }

    /// HTTP/1.1 with the gate at the door of every connection and Hummingbird's idle timeout.
    static func http1(_ gate: ConnectionGate, _ limits: WebLimits) -> HTTPServerBuilder {
        .http1(
            configuration: .init(
                additionalChannelHandlers: [gate.handler(limits)], idleTimeout: .init(limits.idleTimeout)))
    }
}
