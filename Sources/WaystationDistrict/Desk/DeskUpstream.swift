import ServiceLifecycle

// Skeleton (the lead's): helper "fleet" replaces this file with the HTTPS client (client certificate)
// of the district Prometheus and Alertmanager.

/// The desk's client of the district Prometheus and Alertmanager; runs as a service so it is shut
/// down with the hub.
public final class DeskUpstream: Service, Sendable {
    public let config: DeskConfig

    public init(config: DeskConfig) throws {
        self.config = config
    }

    public func run() async throws {
        try? await gracefulShutdown()
    }
}
