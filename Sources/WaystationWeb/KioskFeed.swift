import Foundation
import Logging
import ServiceLifecycle
import WaystationProtocol

/// The station status the kiosk shows, kept fresh: fetched with `GetKioskStatus` when the daemon's
/// `Watch` reports a change (a device, an alert, an interlock, a check-in) and at least every
/// `interval` (values such as the room temperature change without an event). Each new status gets
/// a new version number, which the server-sent-event streams follow.
public actor KioskFeed: Service {
    /// The `/api/kiosk` body: `GetKioskStatus`'s `kiosk` plus `daemon_ok`; nil before the first reply.
    public private(set) var body: String?
    public private(set) var version = 0
    public private(set) var daemonOK = false
    private var signature = ""
    private var dirty = true
    private var lastFetch = ContinuousClock.now - .seconds(3600)
    private let link: DaemonLink
    private let interval: Duration
    private let logger: Logger

    public init(link: DaemonLink, interval: Duration = .seconds(5), logger: Logger) {
        self.link = link
        self.interval = interval
        self.logger = logger
    }

    /// The current status and its version.
    public func current() -> (version: Int, body: String?) { (version, body) }

    /// Something changed at the daemon: fetch again soon.
    public func invalidate() { dirty = true }

    /// Fetches now unless a fetch is under `maxAge` old.
    public func refresh(maxAge: Duration = .zero) async {
        if !dirty, ContinuousClock.now - lastFetch < maxAge { return }
        dirty = false
        lastFetch = ContinuousClock.now
        do {
            let reply = try await link.call(GetKioskStatus.self)
            var object = try JSON.from(reply.kiosk).object ?? [:]
            object["daemon_ok"] = true
            var stable = object
            stable["updated_at"] = nil
            let text = JSON.object(stable).text
            if !daemonOK { logger.info("daemon reachable") }
            daemonOK = true
            if text != signature || body == nil {
                signature = text
                version += 1
            }
            body = JSON.object(object).text
        } catch {
            if daemonOK || version == 0 {
                logger.warning("daemon unreachable; the kiosk shows it offline", metadata: ["error": "\(error)"])
                version += 1
            }
            daemonOK = false
            signature = ""
            if var object = body.flatMap({ JSON.parse(Data($0.utf8)) })?.object {
                object["daemon_ok"] = false
                body = JSON.object(object).text
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchLoop() }
                group.addTask { await self.refreshLoop() }
                await group.waitForAll()
            }
        }
    }

    private func refreshLoop() async {
        while !Task.isCancelled {
            await refresh(maxAge: interval)
            do { try await Task.sleep(for: .milliseconds(200)) } catch { return }
        }
    }

    /// Follows the daemon's `Watch`; reconnects after a second when the daemon goes away.
    private nonisolated func watchLoop() async {
        while !Task.isCancelled {
            do {
                try await link.watch { _ in await self.invalidate() }
            } catch {
                logger.debug("watch ended", metadata: ["error": "\(error)"])
            }
            await invalidate()
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
    }
}
