#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import ArgumentParser
import WaystationProtocol

/// waystation-uplink, run as a child: the station's one process with a route to the district hub
/// (waystationctl itself has no network code). Looked for beside waystationctl, then in /usr/bin.
enum Uplink {
    static func path() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let me = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = me.lastIndex(of: "/") {
                let beside = String(me[..<slash]) + "/waystation-uplink"
                if access(beside, X_OK) == 0 { return beside }
            }
        }
        return "/usr/bin/waystation-uplink"
    }

    /// Runs it with `arguments`, `stdin` on its standard input (never on the command line), its output
    /// passed through; returns its exit status.
    static func run(_ arguments: [String], stdin text: String) throws -> Int32 {
        let program = path()
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ValidationError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, &argv, environ)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            Output.error(
                "cannot run \(program): \(String(cString: strerror(rc))) (waystation-uplink carries the district link)")
            throw ExitCode(69)
        }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 1
    }
}
