import Hummingbird
import HummingbirdCore
import Logging
import NIOHTTP1
import NIOPosix
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
                try Self.server(api.metricsRouter(), .hostname(m.host, port: m.port), gate, limits, logger))
        }
        let listen = config.front.web.listen
        let gate = ConnectionGate(name: "listen", limits: limits.kiosk, trimmer: trimmer)
        services.append(try Self.server(api.router(), .hostname(listen.host, port: listen.port), gate, limits, logger))
        logger.info(
            "waystation-web starting",
            metadata: [
                "listen": "\(listen)", "metrics_listen": "\(config.front.web.metricsListen?.description ?? "-")",
                "socket": "\(socketPath)", "max_connections": "\(limits.kiosk.maxConnections)",
                "metrics_max_connections": "\(limits.metrics.maxConnections)",
            ])
        // Stops on SIGTERM or SIGINT: the listeners first (open requests finish, event streams end),
        // then the feed.
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// One listener: Hummingbird's HTTP/1.1 server with a router, without Hummingbird's
    /// `Application`, whose date cache wakes the process every second to format the Date header
    /// (here it is formatted per response).
    static func server(
        _ router: Router<WebContext>, _ address: BindAddress, _ gate: ConnectionGate, _ limits: WebLimits,
        _ logger: Logger
    ) throws -> any Service {
        let responder = router.buildResponder()
        return try http1(gate, limits).buildServer(
            configuration: ServerConfiguration(address: address, serverName: nil),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger
        ) { request, writer, channel in
            let context = WebContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                throw error
            } catch {
                logger.debug("unhandled error", metadata: ["error": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDate.now()
            try await writer.write(response: response.head, body: response.body)
        }
    }

    /// HTTP/1.1 with the gate at the door of every connection and Hummingbird's idle timeout.
    static func http1(_ gate: ConnectionGate, _ limits: WebLimits) -> HTTPServerBuilder {
        .http1(
            configuration: .init(
                additionalChannelHandlers: [gate.handler(limits)], idleTimeout: .init(limits.idleTimeout)))
    }
}
