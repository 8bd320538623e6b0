import Foundation
import Logging
import WaystationCore
import WaystationPolling

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers the outbox, one loop per `[[notify]]` target: oldest first, one at a time, retried with
/// back-off while the receiver is down (never skipping ahead, so order holds), across restarts.
/// An alertmanager target also gets the firing alerts re-sent periodically, as Alertmanager expects.
public final class Notifier: Sendable {
    let store: Store
    let targets: [StationConfig.Notify]
    let logger: Logger
    let alerts: AlertService
    let station: StationConfig.Station

    public init(store: Store, config: StationConfig, alerts: AlertService, logger: Logger) {
        self.store = store
        self.targets = config.notify
        self.station = config.station
        self.alerts = alerts
        self.logger = logger
    }

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { await self.deliverLoop(target) }
                if target.kind == "alertmanager" { group.addTask { await self.resendLoop(target) } }
            }
            await group.waitForAll()
        }
    }

    func deliverLoop(_ target: StationConfig.Notify) async {
        var failures = 0
        while !Task.isCancelled {
            let item: Store.OutboxItem?
            do { item = try await store.nextOutbox(target: target.name) } catch { item = nil }
            guard let item else {
                do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
                continue
            }
            do {
                try await send(item.payload, to: target)
                try await store.markDelivered(item.id)
                if failures > 0 {
                    logger.notice("notification target reachable again", metadata: ["target": "\(target.name)"])
                }
                failures = 0
            } catch {
                failures += 1
                try? await store.markAttempt(item.id)
                if failures == 1 || failures % 20 == 0 {
                    logger.warning(
                        "notification delivery failed; will retry",
                        metadata: ["target": "\(target.name)", "error": "\(error)"])
                }
                let delay = min(pow(2, Double(min(failures, 10))) * 0.25, 30)
                do { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) } catch { return }
            }
        }
    }

    func resendLoop(_ target: StationConfig.Notify) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: target.resendInterval) } catch { return }
            let now = Date()
            let current = await alerts.list(state: nil).filter { a, silenced in
                !silenced
                    && (a.state == .firing
                        || (a.state == .resolved && now.timeIntervalSince(a.resolvedAt ?? now) < 900))
            }
            guard !current.isEmpty else { continue }
            var postable: [JSON] = []
            for (a, _) in current {
                if let body = JSON.parse(
                    Data(Payloads.build(target: target, alert: a, status: a.state, station: station, at: now).utf8))?
                    .array
                {
                    postable += body
                }
            }
            try? await send(JSON.array(postable).text, to: target)
        }
    }

    struct DeliveryError: Error, CustomStringConvertible {
        var description: String
    }

    func send(_ payload: String, to target: StationConfig.Notify) async throws {
        switch target.kind {
        case "exec":
            try await runProgram(target.command, stdin: payload, timeout: target.timeout)
        default:
            guard let base = target.url, var url = URL(string: base) else { throw DeliveryError(description: "no url") }
            if target.kind == "alertmanager", !url.path.hasSuffix("/api/v2/alerts") {
                url = url.appendingPathComponent("api/v2/alerts")
            }
            var request = URLRequest(url: url, timeoutInterval: target.timeout.seconds)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(payload.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
                throw DeliveryError(description: "HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0) from \(url)")
            }
        }
    }

    /// Runs a program (no shell) with the alert on stdin; killed after the timeout.
    func runProgram(_ command: [String], stdin: String, timeout: Duration) async throws {
        guard let program = command.first else { throw DeliveryError(description: "empty command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(command.dropFirst())
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try? input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw DeliveryError(description: "\(program) did not finish within \(DurationParser.format(timeout))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard process.terminationStatus == 0 else {
            throw DeliveryError(description: "\(program) exited with status \(process.terminationStatus)")
        }
    }
}
