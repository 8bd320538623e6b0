import Synchronization
import WaystationCore

/// Work a bus thread does on its own schedule between queued requests: polling. The thread sleeps
/// until the next due time or a queued request, whichever is first; no timer task and no hop to the
/// shared pool per poll.
public protocol BusSchedule: AnyObject, Sendable {
    /// When the next scheduled work is due; nil when there is none.
    func nextDue() -> ContinuousClock.Instant?
    /// Does what is due at `now`, on the bus thread, with its connection.
    func runDue(on connection: ModbusConnection, now: ContinuousClock.Instant)
}

/// The bus's queues and its thread's loop, shared by the client and the thread.
final class BusQueue: Sendable {
    typealias Job = @Sendable (ModbusConnection) -> Void

    struct State: ~Copyable {
        var queues: [[Job]] = Array(repeating: [], count: ModbusClient.Priority.allCases.count)
        var stopped = false
        var statistics = BusStatistics()
        var requestCount = 0
        var connected = false
        var clientTokens: Double
        var tokensAt = ContinuousClock.now
        var schedule: (any BusSchedule)?
        /// Last time the thread went round its loop (the watchdog's sign of life).
        var lastBeat = ContinuousClock.now

        mutating func pop(_ priority: ModbusClient.Priority) -> Job? {
            queues[priority.rawValue].isEmpty ? nil : queues[priority.rawValue].removeFirst()
        }
    }

    /// The longest the thread sleeps without a due time or a request (it beats at least this often).
    static let idleBeat: Duration = .seconds(1)

    let bus: StationConfig.Bus
    let limits: ModbusClient.ClientLimits
    let state: Mutex<State>
    private let wake = ThreadCondition()

    init(bus: StationConfig.Bus, limits: ModbusClient.ClientLimits) {
        self.bus = bus
        self.limits = limits
        state = Mutex(State(clientTokens: limits.burst))
    }

    func stop() {
        state.withLock { $0.stopped = true }
        ring()
    }

    /// Wakes the thread to look at its queues and schedule again.
    func ring() {
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// Queues a job; returns why a client job was refused, or nil.
    func enqueue(_ job: @escaping Job, _ priority: ModbusClient.Priority, unit: Int = 0, limited: Bool = true)
        -> ModbusError?
    {
        let refusal: ModbusError? = state.withLock { s in
            if s.stopped { return busy("the bus is stopped", unit: unit) }
            if priority == .client {
                let now = ContinuousClock.now
                s.clientTokens = min(limits.burst, s.clientTokens + (now - s.tokensAt).seconds * limits.perSecond)
                s.tokensAt = now
                if s.queues[ModbusClient.Priority.client.rawValue].count >= limits.queue {
                    return busy("\(limits.queue) client requests are already waiting on this bus", unit: unit)
                }
                if limited {
                    if s.clientTokens < 1 {
                        return busy(
                            "more than \(Int(limits.perSecond)) client requests a second on this bus", unit: unit)
                    }
                    s.clientTokens -= 1
                }
            }
            s.queues[priority.rawValue].append(job)
            return nil
        }
        if refusal == nil { ring() }
        return refusal
    }

    private func busy(_ why: String, unit: Int) -> ModbusError {
        ModbusError(operation: .connect, bus: bus.name, unit: unit, address: 0, count: 0, cause: .busy(why))
    }

    private enum Step {
        case job(Job)
        case scheduled(any BusSchedule, ContinuousClock.Instant)
        case sleep(Duration)
        case stop
    }

    /// What the thread does next: a safety job first (a relay switch-off), then scheduled polling
    /// that is due, then queued polling and client jobs; otherwise it sleeps until the next due time.
    private func next(at now: ContinuousClock.Instant) -> Step {
        state.withLock { s -> Step in
            s.lastBeat = now
            if let job = s.pop(.safety) { return .job(job) }
            let due = s.schedule?.nextDue()
            if let schedule = s.schedule, let due, due <= now { return .scheduled(schedule, now) }
            if let job = s.pop(.poll) ?? s.pop(.client) { return .job(job) }
            if s.stopped { return .stop }
            return .sleep(min(due.map { $0 - now } ?? Self.idleBeat, Self.idleBeat))
        }
    }

    /// The bus thread: one thing at a time, in priority order, so a safety job that arrives while
    /// others wait goes next.
    func run(_ connection: ModbusConnection) {
        while true {
            // The lock is held from looking to sleeping, so a job queued in between wakes the wait.
            wake.lock()
            let step = next(at: ContinuousClock.now)
            if case .sleep(let duration) = step {
                wake.wait(timeout: duration)
                wake.unlock()
                continue
            }
            wake.unlock()
            switch step {
            case .job(let job): job(connection)
            case .scheduled(let schedule, let now): schedule.runDue(on: connection, now: now)
            case .sleep: continue
            case .stop:
                connection.disconnect()
                return
            }
            let (stats, count, connected) = (connection.statistics, connection.requestCount, connection.isConnected)
            state.withLock {
                $0.statistics = stats
                $0.requestCount = count
                $0.connected = connected
            }
        }
    }
}
