import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import WaystationCore
import WaystationProtocol

/// waystation-uplink's work: asks the daemon (a long poll on the control socket) for the webhook
/// and Alertmanager notifications due, delivers each target's in order, and tells the daemon how
/// each attempt went. The daemon keeps the outbox, the order and the back-off; this process keeps
/// nothing, so killing it loses nothing (what it had is handed out again).
public actor Uplink: Service {
    let configPath: String
    var config: UplinkConfig
    var configStamp: [Int]
    let daemon: DaemonConnection
    let logger: Logger
    var senders: [String: Sender] = [:]
    var workers: [String: TargetWorker] = [:]
    /// How long a long poll waits for something to be due (the one wake-up of an idle uplink).
    static let longPoll: Duration = .seconds(300)
    /// How long a stop lets deliveries in progress finish (the rest are handed out again later).
    public static let stopGrace: Duration = .seconds(2)

    public init(configPath: String, config: UplinkConfig, socketPath: String? = nil, logger: Logger) {
        self.configPath = configPath
        self.config = config
        configStamp = Self.stamp(configPath)
        daemon = DaemonConnection(socketPath: socketPath ?? config.socket)
        self.logger = logger
    }

    public func run() async throws {
        logger.info(
            "waystation-uplink started",
            metadata: ["socket": "\(daemon.socketPath)", "targets": "\(config.targets.keys.sorted())"])
        let signals = Task { [weak self] in
            for await _ in await UnixSignalsSequence(trapping: .sighup) { await self?.reload(why: "SIGHUP") }
        }
        defer { signals.cancel() }
        await cancelWhenGracefulShutdown { await self.fetchLoop() }
        await stop()
    }

    /// Long polls, hands what comes to the targets' workers; reconnects with back-off while the
    /// daemon is away.
    func fetchLoop() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let reply = try await daemon.call(
                    NotificationsPending.self,
                    .init(limit: 16, wait: DurationParser.format(Self.longPoll)), timeout: Self.longPoll + .seconds(30))
                if failures > 0 { logger.notice("daemon reachable again") }
                failures = 0
                await dispatch(reply.notifications)
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 100 == 0 {
                    logger.warning(
                        "cannot get notifications from the daemon; will retry", metadata: ["error": "\(error)"])
                }
                let delay = min(100 * (1 << min(failures, 6)), 5000)
                do { try await Task.sleep(for: .milliseconds(delay)) } catch { return }
            }
        }
    }

    /// Hands each target's notifications to its worker, in the order given (awaited: two batches
    /// of one target are queued in the order they came).
    func dispatch(_ notifications: [PendingNotification]) async {
        var byTarget: [String: [PendingNotification]] = [:]
        for n in notifications { byTarget[n.target, default: []].append(n) }
        for (name, items) in byTarget {
            let worker = workers[name] ?? TargetWorker(name: name, uplink: self, daemon: daemon, logger: logger)
            workers[name] = worker
            await worker.enqueue(items)
        }
    }

    /// The sender for a target, from the config as the file stands now (re-read when it changed).
    func sender(for name: String) -> Sender? {
        if Self.stamp(configPath) != configStamp || config.targets[name] == nil {
            reload(why: config.targets[name] == nil ? "unknown target \(name)" : "config file changed")
        }
        guard let target = config.targets[name] else { return nil }
        if let s = senders[name] { return s }
        let s = Sender(target: target)
        senders[name] = s
        return s
    }

    func reload(why: String) {
        let stamp = Self.stamp(configPath)
        guard stamp != configStamp else { return }
        configStamp = stamp
        do {
            let new = try UplinkConfig.load(path: configPath)
            config = new
            let old = senders
            senders = [:]
            // Deliveries in progress finish with the old settings; the clients go after them.
            Task {
                try? await Task.sleep(for: .seconds(65))
                for s in old.values { await s.shutdown() }
            }
            logger.info("config reloaded", metadata: ["why": "\(why)", "targets": "\(new.targets.keys.sorted())"])
        } catch {
            logger.error("config reload refused; the previous one stays", metadata: ["error": "\(error)"])
        }
    }

    func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for w in workers.values { group.addTask { await w.stop(grace: Self.stopGrace) } }
        }
        for s in senders.values { await s.shutdown() }
        senders = [:]
        logger.info("stopped")
    }

    /// The config file's change time and inode (an editor's rename is a change too).
    static func stamp(_ path: String) -> [Int] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        return [st.st_mtim.tv_sec, st.st_mtim.tv_nsec, Int(st.st_ino), Int(st.st_size)]
    }
}

/// One target's deliveries: in the order given, one at a time; after a failure the rest of the
/// batch is dropped (the daemon hands it out again after the back-off).
actor TargetWorker {
    let name: String
    let uplink: Uplink
    let daemon: DaemonConnection
    let logger: Logger
    var queue: [PendingNotification] = []
    var inFlight: Int?
    var running: Task<Void, Never>?
    var failures = 0

    init(name: String, uplink: Uplink, daemon: DaemonConnection, logger: Logger) {
        self.name = name
        self.uplink = uplink
        self.daemon = daemon
        self.logger = logger
    }

    func enqueue(_ items: [PendingNotification]) {
        let known = Set(queue.compactMap(\.id) + (inFlight.map { [$0] } ?? []))
        queue += items.filter { $0.id.map { !known.contains($0) } ?? true }
        if running == nil, !queue.isEmpty { running = Task { await drain() } }
    }

    func drain() async {
        while !queue.isEmpty, !Task.isCancelled {
            let n = queue.removeFirst()
            inFlight = n.id
            await deliver(n)
            inFlight = nil
        }
        running = nil
    }

    func deliver(_ n: PendingNotification) async {
        do throws(Sender.Failure) {
            guard let sender = await uplink.sender(for: n.target) else {
                throw Sender.Failure(
                    description: "target \(n.target) is not in waystation-uplink's config (\(uplink.configPath))")
            }
            try await sender.send(n)
            if failures > 0 { logger.notice("notification target reachable again", metadata: ["target": "\(name)"]) }
            failures = 0
            guard let id = n.id else { return }
            // An acknowledgement that does not arrive is forgotten: the daemon hands the row out
            // again and it is sent again, with the same idempotency key (at least once).
            _ = try? await daemon.call(NotificationDelivered.self, .init(id: id), timeout: .seconds(10))
        } catch {
            if Task.isCancelled { return }
            failures += 1
            if failures == 1 || failures % 20 == 0 {
                logger.warning(
                    "notification delivery failed", metadata: ["target": "\(name)", "error": "\(error.description)"])
            }
            guard let id = n.id else { return }
            queue.removeAll { $0.id != nil }
            _ = try? await daemon.call(
                NotificationFailed.self, .init(id: id, error: error.description, status: error.status),
                timeout: .seconds(10))
        }
    }

    /// Lets a delivery in progress finish within `grace`, then cuts it off.
    func stop(grace: Duration) async {
        queue.removeAll()
        guard let running else { return }
        let cutoff = Task {
            try? await Task.sleep(for: grace)
            running.cancel()
        }
        await running.value
        cutoff.cancel()
    }
}
