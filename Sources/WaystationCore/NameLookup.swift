#if canImport(Glibc)
    import Glibc
#endif
import CShim

/// A host name looked up within a deadline: `getaddrinfo` runs on a thread of its own, and the
/// caller stops waiting at the deadline (or when `interrupt` becomes readable), leaving the thread
/// to finish and free its result. A silent name server blocks `getaddrinfo` for the resolv.conf
/// timeout of every server (10 s each by default), far past a notification's own timeout.
public enum NameLookup {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// True when it was the deadline (or the interrupt), not an answer.
        public var timedOut: Bool
    }

    /// The addresses of `host`:`port` (stream sockets, any family); free them with `freeaddrinfo`.
    public static func resolve(
        host: String, port: Int, deadline: ContinuousClock.Instant, interrupt: Int32 = -1
    ) throws(Failure) -> UnsafeMutablePointer<addrinfo> {
        guard let lookup = ws_lookup_start(host, String(port)) else {
            throw Failure(description: "cannot look up \(host): \(String(cString: strerror(errno)))", timedOut: false)
        }
        defer { ws_lookup_release(lookup) }
        var fds = [
            pollfd(fd: ws_lookup_fd(lookup), events: Int16(POLLIN), revents: 0),
            pollfd(fd: interrupt, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw Failure(
                    description: "no answer from the name server for \(host) within the timeout", timedOut: true)
            }
            let ms = Int32(
                clamping: max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let n = poll(&fds, nfds_t(interrupt >= 0 ? 2 : 1), ms)
            if n < 0, errno != EINTR {
                throw Failure(description: "poll: \(String(cString: strerror(errno)))", timedOut: false)
            }
            if n > 0, interrupt >= 0, fds[1].revents != 0 {
                throw Failure(description: "looking up \(host) was interrupted (a stop)", timedOut: false)
            }
            if n > 0, fds[0].revents != 0 { break }
        }
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = ws_lookup_result(lookup, &list)
        guard rc == 0, let list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))", timedOut: false)
        }
        return list
    }
}
