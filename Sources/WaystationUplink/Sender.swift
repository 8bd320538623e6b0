import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import WaystationCore
import WaystationProtocol

/// POSTs notifications for one target: AsyncHTTPClient over http or https (the target's CA as the
/// only trust root, its client certificate), redirects never followed, the whole attempt within
/// the target's timeout, the answer's body read up to 16 KiB and dropped.
final class Sender: Sendable {
    let target: UplinkTarget
    private let client: HTTPClient
    /// The most of an answer that is read.
    static let maxResponse = 16 << 10

    /// Why an attempt failed: the words for the daemon's log and the HTTP status when one came.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        var status: Int?
    }

    init(target: UplinkTarget) {
        self.target = target
        var config = HTTPClient.Configuration(
            tlsConfiguration: target.tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(target.timeout.milliseconds)))
        config.connectionPool.idleTimeout = .seconds(30)
        // One connection attempt per delivery attempt: the daemon keeps the retries and their
        // back-off (AHC would retry a refused connection or a failed handshake until the timeout).
        config.connectionPool.retryConnectionEstablishment = false
        config.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: config)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// One attempt at `n`; returns when the receiver answered 2xx, throws `Failure` otherwise.
    func send(_ n: PendingNotification) async throws(Failure) {
        var request = HTTPClientRequest(url: n.url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "waystation-uplink/\(WaystationVersion.string)")
        for (name, value) in n.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: n.body))
        let deadline = ContinuousClock.now + target.timeout
        try await lookUp(n.url, deadline: deadline)
        let status: Int
        do {
            let left = deadline - ContinuousClock.now
            let response = try await client.execute(request, deadline: .now() + .milliseconds(left.milliseconds))
            status = Int(response.status.code)
            var read = 0
            for try await chunk in response.body {
                read += chunk.readableBytes
                if read > Self.maxResponse { break }
            }
        } catch {
            throw Failure(description: Self.words(error, url: n.url, timeout: target.timeout))
        }
        guard (200..<300).contains(status) else {
            throw Failure(description: "HTTP \(status) from \(HTTPRedaction.redact(n.url))", status: status)
        }
    }

    /// The receiver's name looked up first, within the attempt's deadline (on NIO's blocking pool,
    /// abandoned at the deadline), so a silent name server is named as such rather than as a
    /// timeout somewhere in the exchange. An address needs no lookup.
    func lookUp(_ url: String, deadline: ContinuousClock.Instant) async throws(Failure) {
        guard let host = URL(string: url)?.host, !host.isEmpty, !Self.isAddress(host) else { return }
        let port = URL(string: url)?.port ?? 443
        let timeout = target.timeout
        let outcome: Result<Void, Failure>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive {
                do throws(NameLookup.Failure) {
                    freeaddrinfo(try NameLookup.resolve(host: host, port: port, deadline: deadline))
                    return .success(())
                } catch {
                    return .failure(
                        Failure(
                            description: error.timedOut
                                ? "no answer from the name server for \(host) within the \(DurationParser.format(timeout)) timeout"
                                : error.description))
                }
            }
        } catch {
            throw Failure(description: "stopped")
        }
        try outcome.get()
    }

    static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
    }

    /// An AsyncHTTPClient or NIO error in words a technician reads in the daemon's log.
    static func words(_ error: any Error, url: String, timeout: Duration) -> String {
        let where_ = HTTPRedaction.redact(url)
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .connectTimeout || e == .readTimeout {
                return "no answer from \(where_) within the \(DurationParser.format(timeout)) timeout"
            }
            if e == .cancelled { return "stopped" }
        }
        return "\(where_): \(String(reflecting: error))"
    }
}
