import Foundation
import TestSupport
import WaystationCore

/// `waystation-sim` as its own process (so the measured process's CPU and I/O are its own), with
/// its command socket: values held, requests served per device.
final class SimProcess {
    let process: Spawned
    let socketPath: String

    /// Starts the simulator on `config` (with `--pty` for its RTU buses) and waits for its socket.
    init(binDir: String, config: String, socketPath: String, pty: Bool, log: String? = nil) async throws {
        self.socketPath = socketPath
        unlink(socketPath)
        process = try Spawned(
            binDir + "/waystation-sim",
            ["--config", config, "--no-stdin", "--control-socket", socketPath] + (pty ? ["--pty"] : []), output: log)
        try await waitUntil("the simulator's command socket", within: .seconds(20)) {
            guard process.isRunning else { throw BenchError("waystation-sim exited; see \(log ?? "its output")") }
            return (try? await command("status")) != nil
        }
    }

    deinit { stop() }

    func stop() {
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        if process.wait(timeout: .seconds(5)) == nil { process.signal(SIGKILL) }
    }

    /// Sends one command line and returns the answer (off the concurrency pool: it blocks).
    func command(_ line: String) async throws -> String {
        let path = socketPath
        return try await onThread { try Self.exchange(path, line) }
    }

    /// Requests answered per device (`status`: "id bus=… unit=… kind=… served=N …").
    func served() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in try await command("status").split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let id = words.first,
                let served = words.first(where: { $0.hasPrefix("served=") }).flatMap({ Int($0.dropFirst(7)) })
            else { continue }
            counts[String(id)] = served
        }
        return counts
    }

    func totalServed() async throws -> Int { try await served().values.reduce(0, +) }

    private static func exchange(_ socketPath: String, _ line: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard try UnixSocketAddress.with(socketPath, { connect(fd, $0, $1) == 0 }) else {
            throw BenchError("cannot connect to \(socketPath): \(String(cString: strerror(errno)))")
        }
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw BenchError("cannot send \"\(line)\" to the simulator")
        }
        shutdown(fd, Int32(SHUT_WR))
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("error:") { throw BenchError("simulator: \(line): \(text)") }
        return text
    }
}

/// Runs blocking work on a thread of its own and hands back the result: socket calls, waits.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
    }
}

/// A bench step that could not run, with why.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
