import Foundation

/// A pseudo-terminal pair made by socat: two linked paths that behave like the two ends of an
/// RS-485 line. Used by the simulator's `--pty` and by tests.
public enum PtyPair {
    /// Starts socat and waits until both paths exist. Terminate the process to remove them.
    public static func start(daemonEnd: String, simulatorEnd: String, timeout: Duration = .seconds(5)) throws
        -> Process
    {
        guard let socat = findExecutable("socat") else {
            throw SimulatorError("socat is not installed (apt-get install socat); it makes the RTU pty pairs")
        }
        for path in [daemonEnd, simulatorEnd] { unlink(path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: socat)
        process.arguments = [
            "pty,raw,echo=0,link=\(daemonEnd)",
            "pty,raw,echo=0,link=\(simulatorEnd)",
        ]
        // No inherited pipes: a test runner waiting for EOF on its output must not wait on socat.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: daemonEnd), FileManager.default.fileExists(atPath: simulatorEnd)
            {
                return process
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.terminate()
        throw SimulatorError("socat did not create the pty pair \(daemonEnd) / \(simulatorEnd)")
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
