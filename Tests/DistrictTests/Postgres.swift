import Foundation
import Testing

/// A throwaway PostgreSQL 15 for one test: `initdb` into a temp folder and the server started as the
/// unprivileged `postgres` user (tests run as root), listening only on a Unix socket in that folder;
/// stopped and removed by `stop()`. The server is our direct child (through setpriv, which execs), not
/// pg_ctl's daemon: Foundation's Process waits for its child's descendants to close an inherited
/// socket before it reaps, so a daemonising pg_ctl would never be seen to exit.
struct TestPostgres: Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    let dir: String
    let pid: Int32
    let exited: AsyncStream<Int32>
    var socketDir: String { dir + "/sock" }
    var url: String { "postgres:///district?host=\(socketDir)&user=postgres" }

    static func start() async throws -> TestPostgres {
        let dir = try TempDir.make("district-pg")
        let socketDir = dir + "/sock"
        try FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true)
        try await Run.checked("/bin/chown", ["-R", "postgres:postgres", dir])
        try await asPostgres(
            "\(bin)/initdb", ["-D", dir + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        guard FileManager.default.createFile(atPath: dir + "/log", contents: nil),
            let log = FileHandle(forWritingAtPath: dir + "/log")
        else { throw TestFailure("cannot create \(dir)/log") }
        defer { try? log.close() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        server.arguments = [
            "--reuid=postgres", "--regid=postgres", "--clear-groups", "\(bin)/postgres", "-D", dir + "/data", "-k",
            socketDir, "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50",
        ]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = log
        server.standardError = log
        let (exited, continuation) = AsyncStream<Int32>.makeStream()
        server.terminationHandler = { p in
            continuation.yield(p.terminationStatus)
            continuation.finish()
        }
        try server.run()
        let pg = TestPostgres(dir: dir, pid: server.processIdentifier, exited: exited)
        do {
            _ = try await waitFor("PostgreSQL accepting connections", seconds: 120) { () -> Bool? in
                let ready = try await Run.run("\(bin)/pg_isready", ["-q", "-h", socketDir, "-U", "postgres"])
                return ready.status == 0 ? true : nil
            }
            try await asPostgres("\(bin)/createdb", ["-h", socketDir, "-U", "postgres", "district"])
        } catch {
            await pg.stop()
            throw error
        }
        return pg
    }

    static func asPostgres(_ program: String, _ args: [String]) async throws {
        try await Run.checked("/sbin/runuser", ["-u", "postgres", "--", program] + args)
    }

    /// Fast shutdown (SIGINT), waits for the server to exit, removes the folder.
    func stop() async {
        kill(pid, SIGINT)
        for await _ in exited {}
        try? FileManager.default.removeItem(atPath: dir)
    }
}

enum TempDir {
    /// A fresh folder under /tmp, readable by others (the postgres user walks into it).
    static func make(_ prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw TestFailure("mkdtemp failed")
        }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to its end without blocking the concurrency pool (the exit arrives via the
/// termination handler). Output goes to files, not pipes: a pipe read to its end could wait on a
/// descriptor some other child inherited.
enum Run {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ program: String, _ args: [String]) async throws -> Output {
        let dir = try TempDir.make("district-run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = args
        var handles: [FileHandle] = []
        defer { for h in handles { try? h.close() } }
        for name in ["out", "err"] {
            guard FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: nil),
                let handle = FileHandle(forWritingAtPath: "\(dir)/\(name)")
            else { throw TestFailure("cannot create \(dir)/\(name)") }
            handles.append(handle)
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handles[0]
        process.standardError = handles[1]
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return Output(
            status: status, stdout: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "")
    }

    @discardableResult
    static func checked(_ program: String, _ args: [String]) async throws -> Output {
        let output = try await run(program, args)
        guard output.status == 0 else {
            throw TestFailure("\(program) \(args.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output
    }
}
