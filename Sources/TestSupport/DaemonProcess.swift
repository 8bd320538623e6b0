import Foundation
import WaystationProtocol

/// Where the project and its built binaries are.
public enum BuildPaths {
    /// The repository (for committed files the tests compare against).
    public static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The directory of the binaries of this build: `$WAYSTATION_BIN`, else the running program's own
    /// directory (the test bundle and the bench sit beside `waystationd` in `.build/<triple>/<config>`).
    public static let binDir: String = {
        if let dir = ProcessInfo.processInfo.environment["WAYSTATION_BIN"], !dir.isEmpty { return dir }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return repo + "/.build/debug" }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var dir = (exe as NSString).deletingLastPathComponent
        // swift-testing may run the tests from inside the .xctest bundle directory.
        while dir.hasSuffix(".xctest") || dir.contains(".xctest/") { dir = (dir as NSString).deletingLastPathComponent }
        return dir
    }()
}

/// The real `waystationd` binary, started by a test with a `NOTIFY_SOCKET` the test listens on.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `messages` is guarded by `lock`; the rest is set once in init.
    public static var repo: String { BuildPaths.repo }
    public static var binDir: String { BuildPaths.binDir }

    public let process: Spawned
    public let notifyPath: String
    public let logPath: String
    /// waystation-uplink's log (its runs one after another).
    public let uplinkLogPath: String
    private let config: String
    /// What the daemon runs under (faketime, a mount namespace): the uplink runs under it too.
    private let wrapper: [String]
    /// waystation-uplink beside the daemon, when the config has webhook or Alertmanager targets (the
    /// daemon hands their notifications to it). Guarded by `inbox.lock`.
    private var uplinkProcess: Spawned?
    private let notifyFD: Int32
    private let inbox: Inbox

    /// Notifications received; shared with the receiving thread (which must not retain the
    /// DaemonProcess, or its deinit would never kill the daemon).
    final class Inbox: @unchecked Sendable {
        // @unchecked: `messages` and `lineCounts` are guarded by `lock`.
        let lock = NSLock()
        var messages: [String] = []
        /// How many messages carry each line, kept as they arrive: a test polling `count` every few
        /// ms through 1,000 reloads must not rescan thousands of messages each time.
        var lineCounts: [String: Int] = [:]
    }

    public init(
        config: String, dir: String, watchdogUsec: Int = 1_000_000, extraArgs: [String] = [],
        environment: [String: String] = [:], wrapper: [String] = [], uplink: Bool? = nil
    ) throws {
        notifyPath = dir + "/notify.sock"
        logPath = dir + "/daemon.log"
        uplinkLogPath = dir + "/uplink.log"
        self.config = config
        self.wrapper = wrapper
        unlink(notifyPath)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        notifyFD = fd
        let bound = try UnixSocketAddress.with(notifyPath) { bind(fd, $0, $1) }
        guard bound == 0 else {
            close(fd)
            throw TestSupportError("cannot bind the notify socket \(notifyPath)")
        }
        let inbox = Inbox()
        self.inbox = inbox
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                inbox.lock.lock()
                inbox.messages.append(text)
                for line in Set(text.split(separator: "\n")) { inbox.lineCounts[String(line), default: 0] += 1 }
                inbox.lock.unlock()
            }
        }
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notifyPath
        env["WATCHDOG_USEC"] = "\(watchdogUsec)"
        env["JOURNAL_STREAM"] = nil
        env["TZ"] = "UTC"
        env.merge(environment) { _, new in new }
        // `wrapper`: a program the daemon runs under (faketime …).
        let argv = wrapper + [Self.binDir + "/waystationd", "--config", config, "--log-level", "info"] + extraArgs
        process = try Spawned(argv[0], Array(argv.dropFirst()), environment: env, output: logPath)
        if uplink ?? Self.hasHTTPTargets(config) { try startUplink() }
    }

    /// Whether the config file names a webhook or Alertmanager `[[notify]]` target.
    static func hasHTTPTargets(_ path: String) -> Bool {
        let text = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").filter { $0 != " " && $0 != "\t" }
        return text.contains("kind=\"webhook\"") || text.contains("kind=\"alertmanager\"")
    }

    /// The running waystation-uplink, if any.
    public var uplink: Spawned? {
        inbox.lock.lock()
        defer { inbox.lock.unlock() }
        return uplinkProcess
    }

    /// Starts waystation-uplink for this daemon's config (after killing one still running).
    public func startUplink() throws {
        killUplink()
        var env = ProcessInfo.processInfo.environment
        env["TZ"] = "UTC"
        // Its output is appended: a restarted uplink's lines follow the killed one's.
        let log = open(uplinkLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if log >= 0 { close(log) }
        let argv = wrapper + ["/bin/sh"]
        let spawned = try Spawned(
            argv[0],
            Array(argv.dropFirst()) + [
                "-c", "exec \"$0\" \"$@\" >>\"$UPLINK_LOG\" 2>&1", Self.binDir + "/waystation-uplink",
                "--config", config, "--log-level", "info",
            ],
            environment: env.merging(["UPLINK_LOG": uplinkLogPath]) { _, new in new })
        inbox.lock.lock()
        uplinkProcess = spawned
        inbox.lock.unlock()
    }

    /// Kills waystation-uplink with SIGKILL (mid-delivery, say) and waits for it.
    public func killUplink() {
        inbox.lock.lock()
        let running = uplinkProcess
        uplinkProcess = nil
        inbox.lock.unlock()
        guard let running, running.isRunning else { return }
        running.signal(SIGKILL)
        _ = running.wait(timeout: .seconds(10))
    }

    public var uplinkLog: String { (try? String(contentsOfFile: uplinkLogPath, encoding: .utf8)) ?? "" }

    deinit {
        // Killed at once, reaped on a thread of its own: a deinit may run on Swift's shared pool.
        for process in [self.process, uplink].compactMap({ $0 }) where process.isRunning {
            process.signal(SIGKILL)
            Thread.detachNewThread { _ = process.wait(timeout: .seconds(10)) }
        }
        shutdown(notifyFD, Int32(SHUT_RDWR))
        close(notifyFD)
    }

    public var notifications: [String] {
        inbox.lock.lock()
        defer { inbox.lock.unlock() }
        return inbox.messages
    }

    /// How many notifications had `message` as one of their lines.
    public func count(_ message: String) -> Int {
        inbox.lock.lock()
        defer { inbox.lock.unlock() }
        return inbox.lineCounts[message] ?? 0
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func signal(_ sig: Int32) { process.signal(sig) }

    /// Kills the daemon with SIGKILL and waits for it.
    public func killHard() {
        process.signal(SIGKILL)
        _ = process.wait(timeout: .seconds(10))
    }

    /// Waits until the condition holds; records an issue (with the daemon's log) if it never does.
    public func waitFor(_ what: String, within: Duration = .seconds(20), _ check: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while try !check() {
            if ContinuousClock.now > deadline {
                let uplinkPart = uplink == nil && uplinkLog.isEmpty ? "" : "\nuplink log:\n\(uplinkLog)"
                throw TestSupportError("timed out waiting for \(what); daemon log:\n\(log)\(uplinkPart)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits for exit; returns the status, or nil if it did not exit in time.
    public func waitForExit(within: Duration = .seconds(30)) async throws -> Int32? {
        let deadline = ContinuousClock.now + within
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }
}

/// Retries an async operation until it succeeds or the deadline passes; the last error is thrown.
public func eventually<T>(within: Duration = .seconds(5), _ body: () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + within
    while true {
        do {
            return try await body()
        } catch {
            if ContinuousClock.now > deadline { throw error }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Waits until the condition holds; throws (saying what was awaited) when it does not within the deadline.
public func waitUntil(_ what: String, within: Duration = .seconds(20), _ check: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + within
    while try await !check() {
        if ContinuousClock.now > deadline { throw TestSupportError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(50))
    }
}
