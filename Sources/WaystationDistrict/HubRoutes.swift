import Foundation
import Hummingbird
import Logging
import WaystationLink

/// The request context: Hummingbird's, plus the station the bearer token proved, or the desk's
/// signed-in staff member and language.
public struct HubContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var station: String?
    /// The desk session the auth middleware found (nil: not signed in).
    public var desk: DeskSession?
    /// The desk's language (cookie `desk_lang`; Chinese by default).
    public var lang: DeskLang = .zh
    /// The peer's IP address.
    public let address: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        station = nil
        desk = nil
        address = source.channel.remoteAddress?.ipAddress
    }

    public var maxUploadSize: Int { 4 * 1024 * 1024 }
}

/// The sync API under `/sync/v1/stations/{station}/`: bearer token, station must be the token's.
struct SyncRoutes: Sendable {
    let store: HubStore
    let lookup: RiderLookup
    let logger: Logger

    func add(to router: Router<HubContext>) {
        let group = router.group("sync/v1/stations/:station").add(middleware: StationAuth(store: store, logger: logger))
        group.post("riders/lookup") { request, context in
            try await respond(request, context, LookupRequest.self) { station, body in
                try await lookup.lookup(station: station, body)
            }
        }
        group.post("reports") { request, context in
            try await respond(request, context, ReportsRequest.self) { station, body in
                try await store.storeReports(station: station, body.reports)
            }
        }
        group.post("visits") { request, context in
            try await respond(request, context, VisitsRequest.self) { station, body in
                try await store.storeVisits(station: station, body.days)
                return Empty()
            }
        }
        group.post("state") { request, context in
            try await respond(request, context, StationState.self) { station, body in
                try await store.storeState(station: station, body)
                return Empty()
            }
        }
        group.get("changes") { request, context in
            await HubHTTP.guarded(logger) {
                let since = request.uri.queryParameters.get("since") ?? ""
                return try HubHTTP.json(try await store.changes(station: try station(context), since: since))
            }
        }
        group.post("redeem") { request, context in
            try await respond(request, context, RedeemRequest.self) { station, body in
                RedeemResponse(balance: try await store.redeem(station: station, body))
            }
        }
    }

    private func station(_ context: HubContext) throws -> String {
        guard let s = context.station else { throw HubError.internal("no station on an authenticated route") }
        return s
    }

    private func respond<In: Decodable, Out: Encodable>(
        _ request: Request, _ context: HubContext, _ type: In.Type,
        _ body: @Sendable (String, In) async throws -> Out
    ) async throws -> Response {
        let station = try station(context)
        let decoded: In
        do {
            decoded = try await request.decode(as: In.self, context: context)
        } catch {
            return HubHTTP.error(
                .badRequest, "bad_request", "the body is not the expected JSON: \(HubHTTP.describe(error))")
        }
        return await HubHTTP.guarded(logger) { try HubHTTP.json(try await body(station, decoded)) }
    }
}

/// Bearer token -> station: 401 for a missing, unknown or revoked token, 403 for another station's URL.
struct StationAuth: RouterMiddleware {
    typealias Context = HubContext
    let store: HubStore
    let logger: Logger

    func handle(
        _ request: Request, context: HubContext, next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count < 300 else {
            return HubHTTP.error(.unauthorized, "unauthorized", "an Authorization: Bearer token is required")
        }
        let token = String(header.dropFirst("Bearer ".count))
        let found: (id: String, revoked: Bool)?
        do {
            found = try await store.station(forToken: token)
        } catch {
            logger.error("token check failed", metadata: ["error": "\(HubHTTP.describe(error))"])
            return HubHTTP.error(.serviceUnavailable, "unavailable", "the hub's database is unavailable")
        }
        guard let found else { return HubHTTP.error(.unauthorized, "unauthorized", "unknown token") }
        guard !found.revoked else {
            logger.notice("revoked station refused", metadata: ["station": "\(found.id)"])
            return HubHTTP.error(.unauthorized, "revoked", "station \(found.id) is revoked")
        }
        guard context.parameters.get("station") == found.id else {
            logger.notice("station used another's URL", metadata: ["station": "\(found.id)"])
            return HubHTTP.error(.forbidden, "forbidden", "this token belongs to station \(found.id)")
        }
        var context = context
        context.station = found.id
        return try await next(request, context)
    }
}

enum HubHTTP {
    static func json<T: Encodable>(_ value: T, _ status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, balance: Int? = nil) -> Response
    {
        (try? json(LinkErrorBody(error: code, message: message, balance: balance), status))
            ?? Response(status: status)
    }

    /// Runs a handler, mapping refusals to their status; other errors are 500 (logged without data).
    static func guarded(_ logger: Logger, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let e as HubError {
            switch e {
            case .badRequest(let m): return error(.badRequest, "bad_request", m)
            case .notFound(let m): return error(.notFound, "not_found", m)
            case .conflict(let m): return error(.conflict, "conflict", m)
            case .insufficient(let balance):
                return error(.conflict, "insufficient", e.description, balance: balance)
            case .internal(let m):
                logger.error("internal error", metadata: ["error": "\(m)"])
                return error(.internalServerError, "internal", "internal error")
            }
        } catch is LookupLimited {
            return error(.tooManyRequests, "rate_limited", "too many rider look-ups this hour; try later")
        } catch {
            logger.error("request failed", metadata: ["error": "\(describe(error))"])
            return HubHTTP.error(.internalServerError, "internal", "internal error")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let d = error as? DecodingError {
            switch d {
            case .keyNotFound(let key, _): return "missing \(key.stringValue)"
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                return c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription
            @unknown default: return "\(d)"
            }
        }
        return String(reflecting: error)
    }
}
