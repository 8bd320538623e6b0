import DistrictStorage
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import WaystationLink

/// `waystation-district serve`: migrations, the config's categories into the table, then HTTPS on
/// `[web] listen` (Open311, and the sync API unless `[sync] listen` has its own listener).
public struct HubServer: Sendable {
    public let config: HubConfig
    public let keys: HubKeys
    public let store: HubStore
    let logger: Logger

    public init(config: HubConfig, keys: HubKeys, store: HubStore, logger: Logger) {
        self.config = config
        self.keys = keys
        self.store = store
        self.logger = logger
    }

    /// The server's TLS: the configured certificate chain and key (PEM).
    public static func tls(_ config: HubConfig) throws(HubConfigError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(config.certificate)
        } catch {
            throw HubConfigError(file: config.certificate, key: "[tls] certificate", "is not a PEM certificate file")
        }
        guard !chain.isEmpty else {
            throw HubConfigError(file: config.certificate, key: "[tls] certificate", "holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: config.key, format: .pem)
        } catch {
            throw HubConfigError(file: config.key, key: "[tls] key", "is not a PEM private key file")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// The listeners as services; `onListening` hears each one's name and bound port (for port 0).
    public func services(
        onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }
    ) throws -> [any Service] {
        let tls = try Self.tls(config)
        let lookup = RiderLookup(
            keys: keys, store: store, limiter: LookupLimiter(perHour: config.lookupsPerHour))
        let sync = SyncRoutes(store: store, lookup: lookup, logger: logger)
        let open311 = Open311Routes(store: store, agency: config.districtName, logger: logger)
        let upstream = try DeskUpstream(config: config.desk)
        let desk = DeskApp(
            env: DeskEnv(config: config, keys: keys, store: store, upstream: upstream, logger: logger))
        let web = Router(context: HubContext.self)
        web.add(middleware: RequestLog(logger: logger))
        open311.add(to: web)
        desk.add(to: web)
        var apps: [any Service] = [upstream]
        if let listen = config.sync {
            let router = Router(context: HubContext.self)
            router.add(middleware: RequestLog(logger: logger))
            sync.add(to: router)
            apps.append(try app(router, listen, "sync", tls, onListening))
        } else {
            sync.add(to: web)
        }
        apps.append(try app(web, config.web, "web", tls, onListening))
        return apps
    }

    func app(
        _ router: Router<HubContext>, _ listen: HubConfig.Listen, _ name: String, _ tls: TLSConfiguration,
        _ onListening: @escaping @Sendable (String, Int) async -> Void
    ) throws -> any Service {
        let logger = logger
        return Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                logger.info("listening", metadata: ["listener": "\(name)", "port": "\(port)"])
                await onListening(name, port)
            }, logger: logger)
    }

    /// Serves until SIGTERM or SIGINT.
    public func run() async throws {
        try await store.db.migrate()
        try await store.syncCategories(config.categories)
        let group = ServiceGroup(
            configuration: .init(
                services: try services(), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// One line per request: method, path (no query: it may hold dates only, but keep it short), status.
/// Never a body, so never a sealed id or a pseudonym.
struct RequestLog: RouterMiddleware {
    typealias Context = HubContext
    let logger: Logger

    func handle(
        _ request: Request, context: HubContext, next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        let response = try await next(request, context)
        let level: Logger.Level = response.status.code >= 500 ? .error : .debug
        logger.log(level: level, "\(request.method) \(request.uri.path) \(response.status.code)")
        return response
    }
}
