import Foundation
import Testing
import WaystationCore

/// The real `waystationd` binary, started by a test with a `NOTIFY_SOCKET` the test listens on.
final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `messages` is guarded by `lock`; the rest is set once in init.
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var binDir: String { repo + "/.build/debug" }

    let process: Spawned
    let notifyPath: String
    let logPath: String
    private let notifyFD: Int32
    private let inbox: Inbox

    /// Notifications received; shared with the receiving thread (which must not retain the
    /// DaemonProcess, or its deinit would never kill the daemon).
    final class Inbox: @unchecked Sendable {
        // @unchecked: `messages` is guarded by `lock`.
        let lock = NSLock()
        var messages: [String] = []
    }

    init(config: String, dir: String, watchdogUsec: Int = 1_000_000, extraArgs: [String] = []) throws {
        notifyPath = dir + "/notify.sock"
        logPath = dir + "/daemon.log"
        unlink(notifyPath)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        notifyFD = fd
        let bound = try UnixSocketAddress.with(notifyPath) { bind(fd, $0, $1) }
        guard bound == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown)
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
                inbox.lock.unlock()
            }
        }
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notifyPath
        env["WATCHDOG_USEC"] = "\(watchdogUsec)"
        env["JOURNAL_STREAM"] = nil
        env["TZ"] = "UTC"
        process = try Spawned(
            Self.binDir + "/waystationd", ["--config", config, "--log-level", "info"] + extraArgs, environment: env,
            output: logPath)
    }

    deinit {
        if process.isRunning {
            process.signal(SIGKILL)
            _ = process.wait(timeout: .seconds(10))
        }
        shutdown(notifyFD, Int32(SHUT_RDWR))
        close(notifyFD)
    }

    var notifications: [String] {
        inbox.lock.lock()
        defer { inbox.lock.unlock() }
        return inbox.messages
    }

    func count(_ message: String) -> Int {
        notifications.filter { $0.split(separator: "\n").contains { $0 == message } }.count
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) { process.signal(sig) }

    /// Kills the daemon with SIGKILL and waits for it.
    func killHard() {
        process.signal(SIGKILL)
        _ = process.wait(timeout: .seconds(10))
    }

    /// Waits until the condition holds; records an issue (with the daemon's log) if it never does.
    func waitFor(_ what: String, within: Duration = .seconds(20), _ check: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + within
        while try !check() {
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for \(what); daemon log:\n\(log)")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits for exit; returns the status, or nil if it did not exit in time.
    func waitForExit(within: Duration = .seconds(30)) async throws -> Int32? {
        let deadline = ContinuousClock.now + within
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }
}
