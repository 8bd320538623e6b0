import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization

/// One sample of a Prometheus instant query: its labels and value.
public struct PromSample: Sendable, Equatable {
    public var labels: [String: String]
    public var value: Double
    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// One series of a Prometheus range query: its labels and `(unix seconds, value)` points.
public struct PromSeries: Sendable, Equatable {
    public var labels: [String: String]
    public var points: [PromPoint]
}

public struct PromPoint: Sendable, Equatable {
    public var time: Double
    public var value: Double
}

/// An alert as Alertmanager's v2 API gives it (labels and annotations are untrusted text).
public struct AMAlert: Sendable, Decodable, Equatable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: String
    public var fingerprint: String
    public var status: Status
    public struct Status: Sendable, Decodable, Equatable {
        /// active, suppressed (silenced or inhibited), unprocessed.
        public var state: String
        public var silencedBy: [String]
    }
}

/// A silence as Alertmanager's v2 API gives it.
public struct AMSilence: Sendable, Decodable, Equatable {
    public var id: String
    public var matchers: [Matcher]
    public var startsAt: String
    public var endsAt: String
    public var createdBy: String
    public var comment: String
    public var status: Status
    public struct Matcher: Sendable, Codable, Equatable {
        public var name: String
        public var value: String
        public var isRegex: Bool
        public var isEqual: Bool?
        public init(name: String, value: String) {
            self.name = name
            self.value = value
            isRegex = false
            isEqual = true
        }
    }
    public struct Status: Sendable, Decodable, Equatable {
        /// active, pending, expired.
        public var state: String
    }
}

/// The desk's client of the district Prometheus (HTTP API v1) and Alertmanager (API v2): HTTPS with
/// the `[desk]` client certificate and trust root, 5 s per request, one `HTTPClient` for the hub's
/// life. Runs as a service so the client is shut down with the hub.
public final class DeskUpstream: Service, Sendable {
    public let config: DeskConfig
    /// Nil when neither upstream is configured (no client is made).
    let http: HTTPClient?
    let closed = Mutex(false)
    static let timeout: TimeAmount = .seconds(5)

    public init(config: DeskConfig) throws(HubConfigError) {
        self.config = config
        guard config.prometheus != nil || config.alertmanager != nil else {
            http = nil
            return
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = config.ca {
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(ca) } catch {
                throw HubConfigError(file: ca, key: "[desk] ca", "is not a PEM certificate file")
            }
            guard !roots.isEmpty else { throw HubConfigError(file: ca, key: "[desk] ca", "holds no certificate") }
            tls.trustRoots = .certificates(roots)
        }
        if let certificate = config.clientCertificate, let key = config.clientKey {
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
                throw HubConfigError(
                    file: certificate, key: "[desk] client_certificate", "is not a PEM certificate file")
            }
            guard !chain.isEmpty else {
                throw HubConfigError(file: certificate, key: "[desk] client_certificate", "holds no certificate")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw HubConfigError(file: key, key: "[desk] client_key", "is not a PEM private key file")
            }
            tls.certificateChain = chain.map { .certificate($0) }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: Self.timeout, read: Self.timeout)
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Waits for the hub's graceful shutdown, then closes the client.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Closes the client (once; later calls do nothing).
    public func shutdown() async throws {
        let first = closed.withLock { was in
            defer { was = true }
            return !was
        }
        if first, let http { try await http.shutdown() }
    }

    // MARK: Prometheus

    /// `GET /api/v1/query`: the instant vector of `expr` now.
    public func promQuery(_ expr: String) async throws(DeskError) -> [PromSample] {
        let data: PromData<PromInstant> = try await prometheus("query", ["query": expr])
        return data.result.map { PromSample(labels: $0.metric, value: $0.value.value) }
    }

    /// `GET /api/v1/query_range`: `expr` from `start` to `end` (unix seconds) every `step` seconds.
    public func promRange(_ expr: String, start: Double, end: Double, step: Double) async throws(DeskError)
        -> [PromSeries]
    {
        let data: PromData<PromRange> = try await prometheus(
            "query_range",
            ["query": expr, "start": Self.number(start), "end": Self.number(end), "step": Self.number(step)])
        return data.result.map { r in
            PromSeries(labels: r.metric, points: r.values.map { PromPoint(time: $0.time, value: $0.value) })
        }
    }

    func prometheus<T: Decodable & Sendable>(_ endpoint: String, _ query: [String: String]) async throws(DeskError)
        -> PromData<T>
    {
        let what = "Prometheus"
        guard let base = config.prometheus else { throw .upstream("\(what) is not configured ([desk] prometheus)") }
        let url = base + "/api/v1/" + endpoint + "?" + Self.form(query)
        let (status, body) = try await send(what, base, .GET, url, nil)
        let decoded: PromResponse<T>
        do { decoded = try JSONDecoder().decode(PromResponse<T>.self, from: body) } catch {
            throw .upstream("\(what) at \(base): HTTP \(status), an answer that is not its API's JSON")
        }
        guard decoded.status == "success", let data = decoded.data else {
            throw .upstream("\(what) at \(base): \(decoded.error ?? "HTTP \(status)")")
        }
        return data
    }

    // MARK: Alertmanager

    /// `GET /api/v2/alerts?active=true`: the active alerts (silenced ones included, marked suppressed).
    public func alerts() async throws(DeskError) -> [AMAlert] {
        try await alertmanager(.GET, "alerts?active=true", nil)
    }

    /// `GET /api/v2/silences`: every silence Alertmanager still keeps (active, pending, expired).
    public func silences() async throws(DeskError) -> [AMSilence] {
        try await alertmanager(.GET, "silences", nil)
    }

    /// `POST /api/v2/silences`: a new silence from now for `duration`; its id.
    public func createSilence(
        matchers: [AMSilence.Matcher], duration: Duration, createdBy: String, comment: String, now: Date = Date()
    ) async throws(DeskError) -> String {
        struct New: Encodable {
            var matchers: [AMSilence.Matcher]
            var startsAt: String
            var endsAt: String
            var createdBy: String
            var comment: String
        }
        struct Created: Decodable { var silenceID: String }
        let end = now.addingTimeInterval(Double(duration.components.seconds))
        let body = New(
            matchers: matchers, startsAt: now.formatted(.iso8601), endsAt: end.formatted(.iso8601),
            createdBy: createdBy, comment: comment)
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch { throw .upstream("cannot encode the silence") }
        let created: Created = try await alertmanager(.POST, "silences", data)
        return created.silenceID
    }

    /// `DELETE /api/v2/silence/{id}`: ends the silence now.
    public func expireSilence(_ id: String) async throws(DeskError) {
        guard Self.isUUID(id) else { throw .badRequest("\"\(id)\" is not a silence id") }
        let _: Empty = try await alertmanager(.DELETE, "silence/\(id.lowercased())", nil)
    }

    struct Empty: Decodable {}

    func alertmanager<T: Decodable>(_ method: HTTPMethod, _ path: String, _ body: Data?) async throws(DeskError) -> T {
        let what = "Alertmanager"
        guard let base = config.alertmanager else {
            throw .upstream("\(what) is not configured ([desk] alertmanager)")
        }
        let (status, data) = try await send(what, base, method, base + "/api/v2/" + path, body)
        guard (200..<300).contains(status) else {
            let text = String(decoding: data.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .upstream("\(what) at \(base): HTTP \(status)\(text.isEmpty ? "" : ": \(text)")")
        }
        if T.self == Empty.self, let empty = Empty() as? T { return empty }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw .upstream("\(what) at \(base): an answer that is not its API's JSON")
        }
    }

    // MARK: HTTP

    /// One request with the 5 s deadline; any failure becomes `upstream("WHAT at BASE: why")`.
    func send(_ what: String, _ base: String, _ method: HTTPMethod, _ url: String, _ body: Data?)
        async throws(DeskError) -> (Int, Data)
    {
        guard let http else { throw .upstream("\(what) is not configured") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: Self.timeout)
            let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return (Int(response.status.code), Data(buffer.readableBytesView))
        } catch {
            throw .upstream("\(what) at \(base): \(Self.reason(error))")
        }
    }

    static func reason(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "no answer within 5 s"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(e)"
            }
        }
        if error is NIOSSLError { return "TLS failed (\(error))" }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }

    /// `application/x-www-form-urlencoded` query text; `+` and every reserved character escaped.
    static func form(_ fields: [String: String]) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return fields.sorted { $0.key < $1.key }.map { k, v in
            "\(k)=\(v.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    static func number(_ x: Double) -> String { String(format: "%.3f", x) }

    /// A silence id: a UUID (8-4-4-4-12 hex digits).
    public static func isUUID(_ s: String) -> Bool {
        s.range(
            of: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            options: .regularExpression)
            != nil
    }
}

extension Result where Failure == DeskError {
    /// Runs `body`, keeping its value or its error (for `async let` of calls that may fail).
    init(_ body: () async throws(DeskError) -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

// MARK: Prometheus's JSON

struct PromResponse<T: Decodable>: Decodable {
    var status: String
    var data: PromData<T>?
    var error: String?
}

struct PromData<T: Decodable>: Decodable {
    var result: [T]
}

extension PromData: Sendable where T: Sendable {}

struct PromInstant: Decodable, Sendable {
    var metric: [String: String]
    var value: PromValue
}

struct PromRange: Decodable, Sendable {
    var metric: [String: String]
    var values: [PromValue]
}

/// `[unix_seconds, "value"]`; NaN and infinities are as Prometheus writes them.
struct PromValue: Decodable, Sendable {
    var time: Double
    var value: Double
    init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        time = try c.decode(Double.self)
        let text = try c.decode(String.self)
        switch text {
        case "NaN": value = .nan
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        default:
            guard let v = Double(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(text)\" is not a number")
            }
            value = v
        }
    }
}
