#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import ServiceLifecycle
import UnixSignals
import WaystationControl
import WaystationCore
import WaystationPolling
import WaystationProtocol

/// Reloads the config on SIGHUP or a control `Reload`: the new file is validated first; a bad one
/// is refused and the running config stays. Every `Reloadable` service gets the new config.
public actor ReloadService: Service, ConfigAuthority {
    public let path: String
    private var config: StationConfig
    private let monitor: StationMonitor
    private let notifier: SystemdNotifier
    private let logger: Logger
    private var services: [any Reloadable] = []
    private var applied: [@Sendable (StationConfig) async -> Void] = []
    private var status: @Sendable () async -> String = { "" }
    /// The config file's text as last applied, and the keys the last reload changed (for the audit).
    private var appliedText: String?
    public private(set) var lastChanges: [String] = []

    init(path: String, config: StationConfig, monitor: StationMonitor, notifier: SystemdNotifier, logger: Logger) {
        self.path = path
        self.config = config
        self.monitor = monitor
        self.notifier = notifier
        self.logger = logger
        appliedText = try? SystemIO.readText(path)
    }

    func register(_ services: [any Reloadable]) { self.services += services }
    func onApplied(_ hook: @escaping @Sendable (StationConfig) async -> Void) { applied.append(hook) }
    func statusLine(_ line: @escaping @Sendable () async -> String) { status = line }

    public var current: StationConfig { config }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals { _ = await self.reload() }
        }
    }

    /// Reloads the config file. Returns nil on success, else why it was refused.
    @discardableResult
    public func reload() async -> String? {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicUsec())")
        do {
            let text = try? SystemIO.readText(path)
            let new = try StationConfigLoader.load(path: path)
            config = new
            lastChanges = appliedText.flatMap { old in text.map { ConfigDiff.changes(old: old, new: $0) } } ?? []
            appliedText = text
            for s in services { await s.reload(new) }
            for hook in applied { await hook(new) }
            monitor.publish(.reload(at: Date(), ok: true, detail: nil))
            notifier.notify("READY=1\nSTATUS=\(await status())")
            // The old config and the parser's buffers are free heap now: give it back.
            ResidentMemory.trimHeap()
            return nil
        } catch {
            let why = error.description
            logger.error(
                "config reload refused; the running config stays", metadata: ["file": "\(path)", "errors": "\(why)"])
            monitor.publish(.reload(at: Date(), ok: false, detail: why))
            notifier.notify(
                "READY=1\nSTATUS=reload refused: \(why.split(separator: "\n").first ?? "") — \(await status())")
            return why
        }
    }
}
