import Foundation
import WaystationCore

/// A Unix stream socket that takes simulator commands, one per line, and answers each.
public enum CommandSocket {
    /// Binds `path` and serves it on a background thread for the life of the process.
    public static func serve(path: String, simulator: Simulator) throws {
        let fd: Int32
        do {
            fd = try UnixSocketAddress.listen(path: path, backlog: 8)
        } catch {
            throw SimulatorError("simulator control socket: \(error)")
        }
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                Thread.detachNewThread { handle(client, simulator) }
            }
        }
    }

    private static func handle(_ fd: Int32, _ simulator: Simulator) {
        defer { close(fd) }
        var pending = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return }
            pending += buffer[0..<n]
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                let answer = simulator.execute(line.trimmingCharacters(in: .whitespacesAndNewlines)) + "\n"
                _ = answer.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
            }
            if pending.count > 65536 { return }
        }
    }
}
