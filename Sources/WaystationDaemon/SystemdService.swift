#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import ServiceLifecycle
import WaystationAlerts
import WaystationCore
import WaystationPolling
import WaystationStorage

/// Talks to systemd: READY=1 once everything is built (storage open, the control socket listening),
/// a one-line STATUS every 10 s, WATCHDOG=1 at half of WatchdogSec only while every bus loop makes
/// progress and the database answers, and STOPPING=1 when shutdown begins.
public struct SystemdService: Service {
    let notifier: SystemdNotifier
    let polling: PollingEngine
    let alerts: AlertService
    let database: StationDatabase
    let logger: Logger
    /// The station's thread: the loops and their timers run there.
    let station: ThreadExecutor

    /// How long after READY the free heap start-up left is given back.
    static let startupTrimAfter: Duration = .seconds(30)

    /// Its timers are kept by the station's thread and its loops run there (`Task.sleep` would wake
    /// libdispatch's manager thread and a pool thread each time); their tolerance lets a poll's
    /// wake-up take them.
    public func run() async throws {
        notifier.notify("READY=1\nSTATUS=\(await statusLine())")
        logger.info("waystationd started")
        await withTaskExecutorPreference(station) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await watchdog() }
                group.addTask { await statusLoop() }
                group.addTask {
                    // Past start-up and the first poll cycles: give back the heap only start-up used.
                    do { try await station.periodicSleep(for: Self.startupTrimAfter) } catch { return }
                    ResidentMemory.trimHeap()
                }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        }
        notifier.notify("STOPPING=1")
        logger.info("stopping: finishing requests, flushing storage")
    }

    private func watchdog() async {
        guard let interval = notifier.watchdogInterval else { return }
        let window = max(interval * 2, .seconds(15))
        while !Task.isCancelled {
            // A damaged database withholds the ping too: systemd restarts the daemon, which moves the
            // file aside and starts a fresh one (every slot held off until re-enabled). A full disk
            // does not: polling and the interlocks go on, and the condition is an alert.
            let storage = database.health.status
            if await polling.isMakingProgress(within: window), await database.ping(), !storage.corrupt {
                notifier.notify("WATCHDOG=1")
            } else {
                logger.warning(
                    "watchdog ping withheld: polling stalled, or the database does not answer or is damaged",
                    metadata: ["storage": "\(storage.lastError ?? "ok")"])
            }
            do { try await station.periodicSleep(for: interval) } catch { return }
        }
    }

    private func statusLoop() async {
        while !Task.isCancelled {
            do { try await station.periodicSleep(for: .seconds(10)) } catch { return }
            notifier.notify("STATUS=\(await statusLine())")
        }
    }

    /// One line for `systemctl status`.
    public func statusLine() async -> String {
        let statuses = await polling.monitor.statuses()
        let online = statuses.filter { $0.health.state == .online }.count
        let offline = statuses.filter { $0.health.state == .offline }.map(\.id)
        var line = "\(online)/\(statuses.count) devices online"
        let firing = await alerts.activeCount
        if firing > 0 { line += "; \(firing) alert(s) firing" }
        if !offline.isEmpty { line += "; offline: \(offline.joined(separator: ", "))" }
        return line
    }
}
