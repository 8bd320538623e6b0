import WaystationCore
import Foundation
import Logging
import WaystationDaemon

/// Starts the varlink control socket with the daemon (before READY=1) and closes it on shutdown.
public final class ControlServer: DaemonExtension, @unchecked Sendable {
    // @unchecked: `server` is set once in start() (before READY) and read in stop().
    private let logger: Logger
    private var server: VarlinkServer?

    public init(logger: Logger) {
        self.logger = logger
    }

    public func start(daemon: Daemon) async throws {
        guard let config = await daemon.currentConfig else { return }
        if let engine = await daemon.currentEngine {
            await engine.monitor.restoreMaintenance((try? await engine.store.maintenance()) ?? [:])
        }
        let server = VarlinkServer(service: StationService(daemon: daemon, logger: logger), logger: logger)
        try server.start(path: config.control.socket)
        self.server = server
    }

    public func stop() async {
        server?.stop()
    }
}
