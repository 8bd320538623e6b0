#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import CShim
import WaystationCore

/// sd_notify(3) without libsystemd: datagrams to `$NOTIFY_SOCKET` (a path, or `@name` for the
/// abstract namespace). Does nothing when the variable is not set (not run by systemd).
public final class SystemdNotifier: Sendable {
    let address: String?
    /// Half of `WATCHDOG_USEC` when systemd asked for watchdog pings for this process.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0,
            environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { address != nil }

    /// Sends one state message, e.g. `READY=1` or `STATUS=polling 5 devices`.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let address else { return false }
        // Never waits: a receiver that stopped reading (its queue full) must not stall the caller —
        // the watchdog and the status line send from the station's thread, where the monitor and
        // the interlocks run, and a stall there stops them. The message is dropped instead (a
        // missed ping: systemd restarts a daemon it cannot hear).
        let fd = socket(
            AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = try? UnixSocketAddress.with(address) { sa, length in
            bytes.withUnsafeBytes {
                sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT), sa, length)
            }
        }
        return sent == bytes.count
    }

    /// `MONOTONIC_USEC` as systemd wants it with `RELOADING=1`.
    public static func monotonicUsec() -> UInt64 { MonotonicTime.now / 1000 }
}
