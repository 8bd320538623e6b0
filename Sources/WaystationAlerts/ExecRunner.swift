import Foundation
import Subprocess
import SystemPackage
import WaystationCore

/// Runs an exec notification target: the program (no shell) with the payload on stdin. The child
/// starts with an empty signal mask and default handlers (swift-subprocess resets them), has a
/// total deadline, and is killed and reaped when it passes it. A child that closes stdin early is
/// an error, never a crash.
enum ExecRunner {
    static func run(_ command: [String], stdin payload: String, timeout: Duration) async throws {
        guard let program = command.first else { throw HTTPFailure("empty command") }
        let arguments = Arguments(Array(command.dropFirst()))
        let status = try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
            group.addTask {
                let result = try await Subprocess.run(
                    .path(FilePath(program)), arguments: arguments, input: .string(payload), output: .discarded,
                    error: .discarded)
                return result.terminationStatus
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            // The first to finish: the program, or the deadline (cancelling the run kills the child).
            guard let first = try await group.next() else { return TerminationStatus?.none }
            return first
        }
        guard let status else {
            throw HTTPFailure("\(program) did not finish within \(DurationParser.format(timeout)); killed")
        }
        guard status.isSuccess else { throw HTTPFailure("\(program) ended with \(status)") }
    }
}
