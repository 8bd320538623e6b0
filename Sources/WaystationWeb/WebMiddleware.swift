import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WaystationProtocol

/// Headers every reply carries: the page's CSP (as an HTTP header too), no referrer, no sniffing, no
/// framing; and no caching of anything under `/api/` or of `/metrics`.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    /// The policy `kiosk.html` declares in its meta tag.
    static var policy: String {
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            + "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as any HTTPResponseError {
            response = try e.response(from: request, context: context)
        }
        response.headers.set("Referrer-Policy", "no-referrer")
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers.set("X-Frame-Options", "DENY")
        let path = request.uri.path
        if path == "/" {
            response.headers[.contentSecurityPolicy] = Self.policy
            response.headers[.cacheControl] = "no-cache"
        } else if path.hasPrefix("/api/") || path == "/metrics" {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}

/// One log line per request: method, path (never the query string: `/api/rider?session=` carries a
/// session token), status and time. Never a body: `POST /api/scan` carries a rider's id.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        let path = String(request.uri.path.prefix(64))
        do {
            let response = try await next(request, context)
            log(method, path, Int(response.status.code), start)
            return response
        } catch let e as any HTTPResponseError {
            log(method, path, Int(e.status.code), start)
            throw e
        }
    }

    private func log(_ method: String, _ path: String, _ status: Int, _ start: ContinuousClock.Instant) {
        let ms = Int((ContinuousClock.now - start).seconds * 1000)
        let level: Logger.Level = status >= 500 ? .notice : .debug
        logger.log(level: level, "\(method) \(path) \(status) \(ms)ms")
    }
}

extension HTTPFields {
    /// Sets a header by name (a name that is not a valid token is skipped).
    mutating func set(_ name: String, _ value: String) {
        if let n = HTTPField.Name(name) { self[n] = value }
    }
}

/// The request context of both listeners: Hummingbird's, plus the connection's channel, whose close
/// ends an event stream at once.
public struct WebContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var maxUploadSize: Int { KioskAPI.maxBody }
}

/// A request body whose JSON names a key twice: 400 `duplicate_key`, with the key.
struct DuplicateKey: HTTPResponseError {
    let key: String
    var status: HTTPResponse.Status { .badRequest }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        KioskAPI.json(status, JSON.object(["error": "duplicate_key", "key": .string(key)]).text)
    }
}

/// The `Date` header's text (RFC 9110 IMF-fixdate), formatted when a response goes out.
enum HTTPDate {
    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String { format(time(nil)) }

    /// "Sun, 06 Nov 1994 08:49:37 GMT".
    static func format(_ t: time_t) -> String {
        var clock = t
        var tm = tm()
        gmtime_r(&clock, &tm)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday) % 7]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon) % 12]) \(1900 + tm.tm_year) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
