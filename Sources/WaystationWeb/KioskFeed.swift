import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import WaystationProtocol

/// The station status the kiosk shows, kept fresh and pushed: fetched with `GetKioskStatus` when
/// the daemon's `Watch` reports a change (a device, an alert, an interlock, a check-in) and at
/// least every `interval`, 15 s (values such as the room temperature change without an event). Each new
/// status gets a new version number and goes at once to every subscriber (the server-sent-event
/// streams), and the current one again at least every `heartbeat`. Nothing here wakes on a timer
/// shorter than those two: an idle feed sleeps until the daemon says something or a period is up.
///
/// The actor runs on one of NIO's event loops, and so do its timers and its fetches: a periodic
/// fetch wakes that one thread (no sleeping task on libdispatch's timers, no hop through Swift's
/// shared pool).
public actor KioskFeed: Service {
    /// The `/api/kiosk` body: `GetKioskStatus`'s `kiosk` plus `daemon_ok`; nil before the first reply.
    public private(set) var body: String?
    public private(set) var version = 0
    public private(set) var daemonOK = false
    private var signature = ""
    private var dirty = true
    private var lastFetch = ContinuousClock.now - .seconds(3600)
    private var lastBroadcast = ContinuousClock.now
    private var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
    private var nextSubscriber = 0
    /// The refresh loop's sleep: cut short by `invalidate` to fetch at once.
    private var sleeper: LoopNap?
    private var stopped = false
    private let link: DaemonLink
    private let loop: any EventLoop
    private let interval: Duration
    private let heartbeat: Duration
    private let logger: Logger

    public init(link: DaemonLink, interval: Duration = .seconds(15), heartbeat: Duration = .seconds(15), logger: Logger)
    {
        self.link = link
        loop = link.group.next()
        self.interval = interval
        self.heartbeat = heartbeat
        self.logger = logger
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// The current status and its version.
    public func current() -> (version: Int, body: String?) { (version, body) }

    /// Open subscriptions (tests, figures).
    public var subscriberCount: Int { subscribers.count }

    /// Something changed at the daemon: fetch now.
    public func invalidate() {
        dirty = true
        sleeper?.wake()
    }

    /// A stream of `/api/kiosk` bodies: the current one at once, then each new one and the
    /// heartbeats, until `unsubscribe` (or the feed stops).
    public func subscribe() -> (id: Int, updates: AsyncStream<String>) {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4))
        let id = nextSubscriber
        nextSubscriber += 1
        continuation.yield(message)
        if stopped {
            continuation.finish()
        } else {
            subscribers[id] = continuation
        }
        return (id, stream)
    }

    /// Ends a subscription (the client went away, or the server is shutting down).
    public func unsubscribe(_ id: Int) {
        subscribers.removeValue(forKey: id)?.finish()
    }

    private var message: String { body ?? #"{"daemon_ok":false}"# }

    private func broadcast() {
        lastBroadcast = .now
        let text = message
        for c in subscribers.values { c.yield(text) }
    }

    /// Fetches now unless a fetch is under `maxAge` old; a new version goes to the subscribers.
    public func refresh(maxAge: Duration = .zero) async {
        if !dirty, ContinuousClock.now - lastFetch < maxAge { return }
        dirty = false
        lastFetch = ContinuousClock.now
        let before = version
        do {
            let future = link.callFuture(GetKioskStatus.qualifiedName, on: loop)
            let parameters = try await withCheckedThrowingContinuation { c in future.whenComplete { c.resume(with: $0) }
            }
            let reply = try parameters.decode(GetKioskStatus.Reply.self)
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
        if version != before { broadcast() }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchLoop() }
                group.addTask { await self.refreshLoop() }
                await group.waitForAll()
            }
        }
        stop()
    }

    private func stop() {
        stopped = true
        for c in subscribers.values { c.finish() }
        subscribers.removeAll()
    }

    /// Fetches when told (`invalidate`) or when `interval` is up, and repeats the status to the
    /// subscribers when `heartbeat` is up; sleeps in between.
    private func refreshLoop() async {
        while !Task.isCancelled {
            await refresh(maxAge: interval)
            let now = ContinuousClock.now
            // A heartbeat due within the next second goes out now, with this fetch: one wake-up for both.
            if now - lastBroadcast >= heartbeat - .seconds(1) { broadcast() }
            let wait = min(lastFetch + interval - now, lastBroadcast + heartbeat - now)
            if dirty { continue }
            let nap = LoopNap()
            sleeper = nap
            await withTaskCancellationHandler {
                await nap.sleep(max(wait, .milliseconds(10)), on: loop)
            } onCancel: {
                nap.wake()
            }
            sleeper = nil
        }
    }

    /// Follows the daemon's `Watch` (a stream of replies, one per change); reconnects after a
    /// second when the daemon goes away.
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

/// A sleep on an event loop's timer that can be cut short (by `wake`, from anywhere, once); cut
/// short, its timer is cancelled too (no late wake-up for nothing).
final class LoopNap: Sendable {
    private let state = Mutex<(woken: Bool, waiter: CheckedContinuation<Void, Never>?, timer: Scheduled<Void>?)>(
        (false, nil, nil))

    func sleep(_ duration: Duration, on loop: any EventLoop) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let timer = loop.scheduleTask(in: .init(duration)) { self.wake() }
            let now = state.withLock { s in
                if s.woken { return true }
                s.waiter = c
                s.timer = timer
                return false
            }
            if now {
                timer.cancel()
                c.resume()
            }
        }
    }

    func wake() {
        let (waiter, timer) = state.withLock { s in
            s.woken = true
            defer {
                s.waiter = nil
                s.timer = nil
            }
            return (s.waiter, s.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }
}
