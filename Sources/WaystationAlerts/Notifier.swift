#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import ServiceLifecycle
import Synchronization
import WaystationCore
import WaystationStorage

/// Delivers the outbox of the exec targets, one loop per `[[notify]]` exec target: oldest first, one
/// at a time, retried with back-off while the program fails (never skipping ahead, so order holds),
/// across restarts. Webhook and Alertmanager targets are not the daemon's to send: `NotificationDesk`
/// hands them to waystation-uplink over the control socket.
public actor Notifier: Service, Reloadable {
    private let outbox: Outbox
    private let alerts: AlertService
    /// The station's thread: the loops and their timers run there.
    private let thread: ThreadExecutor
    private let logger: Logger
    private var config: StationConfig
    /// The delivery loops, one per exec target.
    private var loops: Task<Void, Never>?
    private let stopping = StopFlag()
    /// How long a stop lets a delivery in progress finish before it is abandoned (it is sent again
    /// after the restart: delivery is at least once).
    public static let deliveryGrace: Duration = .seconds(3)

    public init(config: StationConfig, outbox: Outbox, alerts: AlertService, logger: Logger, station: ThreadExecutor) {
        thread = station
        self.config = config
        self.outbox = outbox
        self.alerts = alerts
        self.logger = logger
    }

    /// On a stop: no new delivery starts; one in progress gets `deliveryGrace`, then is cut off
    /// (its exchange interrupted), so the daemon exits in time whatever a receiver or a name
    /// server does. The daemon stops the notifier after history and state are flushed.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        stopping.set()
        Outbox.bell.ring()
        guard let loops else { return }
        if await !Self.finished(loops, within: Self.deliveryGrace, on: thread) {
            logger.warning(
                "a notification delivery was still in progress at the stop; it is sent again after the restart")
            loops.cancel()
            _ = await Self.finished(loops, within: .seconds(1), on: thread)
        }
    }

    /// Target changes restart delivery; undelivered rows stay queued.
    public func reload(_ new: StationConfig) {
        let restart = new.notify != config.notify || new.station != config.station
        config = new
        if restart, loops != nil {
            loops?.cancel()
            start()
        }
    }

    private func start() {
        let targets = config.notify.filter { $0.kind == .exec }
        let station = config.station
        let stopping = self.stopping
        let deliveries = targets.map {
            Delivery(target: $0, station: station.id, outbox: outbox, logger: logger, thread: thread)
        }
        // On the station's thread, with its timers (the exchanges themselves have their own threads).
        loops = Task(executorPreference: thread) {
            await withTaskGroup(of: Void.self) { group in
                for delivery in deliveries { group.addTask { await delivery.deliverLoop(until: stopping) } }
            }
        }
    }

    /// Whether `task` ended within `limit` (it is not waited for after that).
    static func finished(_ task: Task<Void, Never>, within limit: Duration, on thread: ThreadExecutor) async -> Bool {
        let once = Once()
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            once.arm(c)
            Task(executorPreference: thread) {
                await task.value
                once.resume(true)
            }
            Task(executorPreference: thread) {
                try? await thread.sleep(for: limit)
                once.resume(false)
            }
        }
    }
}

/// Set once when the notifier stops: delivery loops end after the attempt in progress.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

/// A continuation resumed by the first of several racers.
private final class Once: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)
    func arm(_ c: CheckedContinuation<Bool, Never>) { continuation.withLock { $0 = c } }
    func resume(_ value: Bool) {
        continuation.withLock { c in
            defer { c = nil }
            return c
        }?.resume(returning: value)
    }
}

/// One target's delivery.
struct Delivery: Sendable {
    let target: StationConfig.Notify
    /// The station's id, part of each notification's idempotency key.
    let station: String
    let outbox: Outbox
    let logger: Logger
    /// The station's thread, which keeps the waits' timers.
    let thread: ThreadExecutor
    let exec: ExecRunner

    init(target: StationConfig.Notify, station: String, outbox: Outbox, logger: Logger, thread: ThreadExecutor) {
        self.thread = thread
        self.target = target
        self.station = station
        self.outbox = outbox
        self.logger = logger
        exec = ExecRunner(name: target.name)
    }

    /// Refusals for good after which a notification becomes a dead letter.
    static let permanentFailuresBeforeDeadLetter = 5

    func deliverLoop(until stopping: StopFlag) async {
        var failures = 0
        var refusals: (id: Int64, count: Int) = (0, 0)
        while !Task.isCancelled, !stopping.isSet {
            let item: Outbox.Item?
            do { item = try await outbox.next(target: target.name) } catch { item = nil }
            guard let item, let id = item.id else {
                // Nothing queued: wait for the next message (the outbox rings), looking again at
                // least every 30 s in case a ring was missed.
                await Outbox.bell.wait(timeout: .seconds(30), timers: thread)
                continue
            }
            do {
                // Delivered at least once: a crash after the receiver's answer and before the mark
                // sends it again, with the same key (the row's id and creation time, which a
                // database set aside and started afresh does not repeat).
                try await send(item.payload, idempotencyKey: "\(station)-\(id)-\(item.created)")
                try await outbox.markDelivered(id, at: Date())
                if failures > 0 {
                    logger.notice("notification target reachable again", metadata: ["target": "\(target.name)"])
                }
                failures = 0
            } catch {
                if Task.isCancelled { return }
                failures += 1
                try? await outbox.markAttempt(id)
                if let failure = error as? HTTPFailure, failure.permanent {
                    refusals = refusals.id == id ? (id, refusals.count + 1) : (id, 1)
                    if refusals.count >= Self.permanentFailuresBeforeDeadLetter {
                        try? await outbox.markFailed(id, at: Date())
                        logger.error(
                            "notification refused for good; kept as a dead letter, the next ones go on",
                            metadata: ["target": "\(target.name)", "outbox_id": "\(id)", "error": "\(failure)"])
                        failures = 0
                        continue
                    }
                }
                if failures == 1 || failures % 20 == 0 {
                    logger.warning(
                        "notification delivery failed; will retry",
                        metadata: ["target": "\(target.name)", "error": "\(error)"])
                }
                let delay = min(pow(2, Double(min(failures, 10))) * 0.25, 30)
                if stopping.isSet { return }
                do { try await thread.periodicSleep(for: .milliseconds(Int64(delay * 1000))) } catch { return }
            }
        }
    }

    func send(_ payload: String, idempotencyKey: String? = nil) async throws {
        switch target.kind {
        case .exec:
            try await exec.run(target.command, stdin: payload, idempotencyKey: idempotencyKey, timeout: target.timeout)
        case .webhook, .alertmanager:
            // Never here: NotificationDesk hands these to waystation-uplink.
            throw HTTPFailure("\(target.kind.rawValue) targets are delivered by waystation-uplink")
        }
    }
}
