import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import WaystationProtocol

/// The kiosk page's JSON API (`Kiosk/README.md`), `/metrics`, and the page itself at `/`.
///
/// A rider's raw id arrives once in `POST /api/scan`, goes to the daemon's `KioskScan`, and is
/// dropped: it is never logged, stored or sent back. The daemon answers with a session token; the
/// pseudonym never leaves the daemon.
public struct KioskAPI: Sendable {
    /// Largest request body accepted.
    public static let maxBody = 4096

    let link: DaemonLink
    let feed: KioskFeed
    let identity: MetricsExposition.Identity
    let logger: Logger

    public init(link: DaemonLink, feed: KioskFeed, identity: MetricsExposition.Identity, logger: Logger) {
        self.link = link
        self.feed = feed
        self.identity = identity
        self.logger = logger
    }

    /// Everything, for `[web] listen`.
    public func router() -> Router<WebContext> {
        let router = base()
        router.get("/") { _, _ in Self.page() }
        router.get("/api/kiosk") { _, _ in await self.kiosk() }
        router.get("/api/events") { _, context in self.events(closed: context.channel.closeFuture) }
        router.post("/api/scan") { request, _ in try await self.scan(request) }
        router.get("/api/rider") { request, _ in await self.rider(request) }
        router.post("/api/report") { request, _ in try await self.report(request) }
        router.post("/api/logout") { request, _ in try await self.logout(request) }
        router.get("/metrics") { _, _ in await self.metrics() }
        return router
    }

    /// `/metrics` alone, for `[web] metrics_listen`.
    public func metricsRouter() -> Router<WebContext> {
        let router = base()
        router.get("/metrics") { _, _ in await self.metrics() }
        return router
    }

    private func base() -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: AccessLog(logger: logger))
        router.add(middleware: SecurityHeaders())
        return router
    }

    // MARK: Handlers

    static func page() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: KioskPage.html)))
    }

    func kiosk() async -> Response {
        await feed.refresh(maxAge: .seconds(2))
        guard let body = await feed.current().body else {
            return Self.json(.serviceUnavailable, #"{"daemon_ok":false,"error":"unavailable"}"#)
        }
        return Self.json(.ok, body)
    }

    /// `text/event-stream`: an `event: kiosk` message with the `/api/kiosk` body at once, on every
    /// change, and at least every heartbeat of the feed (a real message: the page ignores comments;
    /// it gives up on a stream silent for 25 s). Pushed by the feed: the stream sleeps in between,
    /// and ends when the client goes away (`closed`) or the server shuts down.
    func events(closed: EventLoopFuture<Void>) -> Response {
        let feed = self.feed
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            let (id, updates) = await feed.subscribe()
            closed.whenComplete { _ in Task { await feed.unsubscribe(id) } }
            try await withGracefulShutdownHandler {
                try await withTaskCancellationHandler {
                    for await data in updates {
                        try await writer.write(ByteBuffer(string: "event: kiosk\ndata: \(data)\n\n"))
                    }
                } onCancel: {
                    Task { await feed.unsubscribe(id) }
                }
            } onGracefulShutdown: {
                Task { await feed.unsubscribe(id) }
            }
            await feed.unsubscribe(id)
            try await writer.finish(nil)
        }
        var headers: HTTPFields = [.contentType: "text/event-stream; charset=utf-8"]
        headers.set("X-Accel-Buffering", "no")
        return Response(status: .ok, headers: headers, body: body)
    }

    func scan(_ request: Request) async throws -> Response {
        guard let object = try await Self.object(request) else { return Self.error(.badRequest, "invalid_id") }
        guard let id = object["id"]?.string, Self.validID(id) else { return Self.error(.badRequest, "invalid_id") }
        // No category chosen (a reader scan without a tap): "unknown", never a guess.
        let category: String
        switch object["category"] {
        case .none, .some(.null): category = "unknown"
        case .some(let c):
            guard let text = c.string, !text.isEmpty, text.count <= 64 else {
                return Self.error(.badRequest, "invalid_category")
            }
            category = text
        }
        do {
            let r = try await link.call(KioskScan.self, .init(worker: id, category: category))
            await feed.invalidate()
            return Self.json(.ok, try JSON.from(r).text)
        } catch let failure as DaemonLink.Failure {
            return map(failure)
        }
    }

    func rider(_ request: Request) async -> Response {
        guard let token = request.uri.queryParameters["session"].map(String.init), Self.validToken(token) else {
            return Self.error(.unauthorized, "session_expired")
        }
        do {
            let r = try await link.call(GetRider.self, .init(session: token))
            return Self.json(.ok, (try? JSON.from(r.rider).text) ?? "{}")
        } catch {
            return map(error)
        }
    }

    func report(_ request: Request) async throws -> Response {
        guard let object = try await Self.object(request) else { return Self.error(.badRequest, "bad_request") }
        guard let token = object["session"]?.string, Self.validToken(token) else {
            return Self.error(.unauthorized, "session_expired")
        }
        guard let category = object["category"]?.string, !category.isEmpty else {
            return Self.error(.badRequest, "invalid_category")
        }
        guard let location = object["location"]?.string else { return Self.error(.badRequest, "invalid_location") }
        let note = object["note"]?.string
        do {
            let r = try await link.call(
                SubmitReport.self, .init(session: token, category: category, location: location, note: note))
            return Self.json(.ok, try JSON.from(r).text)
        } catch let failure as DaemonLink.Failure {
            return map(failure)
        }
    }

    func logout(_ request: Request) async throws -> Response {
        guard let object = try await Self.object(request), let token = object["session"]?.string,
            Self.validToken(token)
        else { return Self.json(.ok, "{}") }
        do {
            _ = try await link.call(EndSession.self, .init(session: token))
            return Self.json(.ok, "{}")
        } catch {
            return map(error)
        }
    }

    func metrics() async -> Response {
        var m: StationMetrics?
        do {
            m = try await link.call(GetMetrics.self).metrics
        } catch {
            logger.debug("metrics: daemon unreachable", metadata: ["error": "\(error)"])
        }
        return Response(
            status: .ok, headers: [.contentType: MetricsExposition.contentType],
            body: .init(byteBuffer: ByteBuffer(string: MetricsExposition.render(m, identity: identity))))
    }

    // MARK: Helpers

    /// The request's JSON object body (at most `maxBody` bytes); nil when it is not one. An object
    /// that names a key twice is refused with 400 `duplicate_key` naming it.
    static func object(_ request: Request) async throws -> [String: JSON]? {
        let buffer = try await request.body.collect(upTo: maxBody)
        switch JSON.parseStrict(buffer.readableBytesView) {
        case .success(let json): return json.object
        case .failure(.duplicateKey(let key)): throw DuplicateKey(key: key)
        case .failure(.invalid): return nil
        }
    }

    /// The one rider-id rule (`RiderID`), checked here too so a bad id never reaches the daemon.
    static func validID(_ id: String) -> Bool {
        (try? RiderID(id)) != nil
    }

    /// A session token: 32 hex digits.
    static func validToken(_ token: String) -> Bool {
        token.count == 32 && token.allSatisfy(\.isHexDigit)
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, retryAfter: Int? = nil) -> Response {
        var object: [String: JSON] = ["error": .string(code)]
        if let retryAfter { object["retry_after"] = .number(Double(retryAfter)) }
        var r = json(status, JSON.object(object).text)
        if let retryAfter { r.headers[.retryAfter] = "\(retryAfter)" }
        return r
    }

    func map(_ error: any Error) -> Response {
        guard let failure = error as? DaemonLink.Failure else { return Self.error(.serviceUnavailable, "unavailable") }
        return map(failure)
    }

    /// The daemon's errors as the page's codes.
    func map(_ failure: DaemonLink.Failure) -> Response {
        switch failure {
        case .unreachable(let why):
            logger.warning("daemon unreachable", metadata: ["error": "\(why)"])
            return Self.error(.serviceUnavailable, "unavailable")
        case .reply(let e):
            if let s = StationError(e) {
                switch s {
                case .rateLimited(let after): return Self.error(.tooManyRequests, "rate_limited", retryAfter: after)
                case .unknownCategory: return Self.error(.badRequest, "invalid_category")
                case .sessionExpired: return Self.error(.unauthorized, "session_expired")
                case .storageFull(let directory):
                    logger.error(
                        "the daemon's disk is full; nothing is recorded", metadata: ["directory": "\(directory)"])
                    return Self.error(.init(code: 507, reasonPhrase: "Insufficient Storage"), "storage_full")
                case .checkInPaused: return Self.error(.serviceUnavailable, "check_in_paused")
                case .invalidReport(let field, _):
                    return Self.error(
                        .badRequest,
                        ["location", "note", "category"].contains(field) ? "invalid_\(field)" : "bad_request")
                case .permissionDenied(let method, _, let required):
                    logger.error(
                        "the daemon refused this process: run waystation-web in the kiosk group",
                        metadata: ["method": "\(method)", "required": "\(required)"])
                    return Self.error(.serviceUnavailable, "unavailable")
                default:
                    logger.warning("daemon error", metadata: ["error": "\(s.name)"])
                    return Self.error(.serviceUnavailable, "unavailable")
                }
            }
            if e.name == "org.varlink.service.InvalidParameter" {
                return Self.error(
                    .badRequest, e.parameters["parameter"]?.string == "worker" ? "invalid_id" : "bad_request")
            }
            logger.warning("daemon error", metadata: ["error": "\(e.name)"])
            return Self.error(.serviceUnavailable, "unavailable")
        }
    }
}
