import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// What every desk section shares: the store, the config, the keys, the upstream client.
public struct DeskEnv: Sendable {
    public let config: HubConfig
    public let keys: HubKeys
    public let store: HubStore
    public let upstream: DeskUpstream
    public let logger: Logger

    /// 303 See Other to a desk path.
    public static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// Runs a desk handler for a signed-in member of at least `role`; refusals become their page.
    /// Without a session: an HTML GET goes to the log-in (303), anything else is 401.
    public func handle(
        _ request: Request, _ context: HubContext, role: DeskRole = .viewer,
        _ body: (DeskRequest) async throws -> Response
    ) async -> Response {
        let uri = request.uri.description
        let isPage = request.method == .get && !request.uri.path.hasPrefix("/desk/api/")
        guard let session = context.desk else {
            if isPage {
                let next = uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2Fdesk%2F"
                return Self.redirect("/desk/login?next=\(next)")
            }
            return unauthorized(context.lang)
        }
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
        let d = DeskRequest(
            env: self, session: session, lang: context.lang, uri: uri, address: context.address, query: query)
        do {
            try d.require(role)
            return try await body(d)
        } catch let e as DeskError {
            switch e {
            case .unauthenticated: return Self.redirect("/desk/login")
            case .forbidden:
                return errorPage(
                    d.lang, .forbidden,
                    d.t(
                        "您的角色（\(session.role.rawValue)）不能做这件事。", "Your role (\(session.role.rawValue)) may not do this."
                    ),
                    id: "forbidden")
            case .notFound(let m): return errorPage(d.lang, .notFound, m)
            case .badRequest(let m): return errorPage(d.lang, .badRequest, m)
            case .conflict(let m): return errorPage(d.lang, .conflict, m)
            case .upstream(let m): return errorPage(d.lang, .badGateway, m)
            }
        } catch let e as HubError {
            switch e {
            case .badRequest(let m): return errorPage(d.lang, .badRequest, m)
            case .notFound(let m): return errorPage(d.lang, .notFound, m)
            case .conflict(let m): return errorPage(d.lang, .conflict, m)
            case .insufficient: return errorPage(d.lang, .conflict, e.description)
            case .internal(let m):
                logger.error("desk: internal error", metadata: ["error": "\(m)"])
                return errorPage(d.lang, .internalServerError, d.t("内部错误。", "Internal error."))
            }
        } catch {
            logger.error("desk: request failed", metadata: ["error": "\(HubHTTP.describe(error))"])
            return errorPage(d.lang, .internalServerError, d.t("内部错误。", "Internal error."))
        }
    }

    /// 401 for a request without a session that is not a page (the API, a change).
    public func unauthorized(_ lang: DeskLang) -> Response {
        errorPage(lang, .unauthorized, lang == .zh ? "请先登录。" : "Please log in first.")
    }

    /// A bare page for a refusal: status, one sentence (`p#ID`), a way back.
    public func errorPage(
        _ lang: DeskLang, _ status: HTTPResponse.Status, _ message: String, id: String = "refused"
    ) -> Response {
        let back = lang == .zh ? "返回" : "Back"
        let body: HTML = """
            <main id="main" class="narrow"><h1>\(String(status.code)) \(status.reasonPhrase)</h1>
            <p class="error" id="\(id)">\(message)</p><p><a href="/desk/">\(back)</a></p></main>
            """
        return DeskLayout.document(lang: lang, title: "\(status.code)", nav: nil, body: body, status: status)
    }
}

/// A part of the desk: adds its routes to the `/desk` group.
public protocol DeskSection: Sendable {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv)
}

/// The desk under `/desk/`: security headers and language on everything, the auth middleware, the
/// sections, and the embedded stylesheet and script.
public struct DeskApp: Sendable {
    public let env: DeskEnv

    public init(env: DeskEnv) { self.env = env }

    var sections: [any DeskSection] { [DeskAuthSection(), DeskFleetSection(), DeskWorkSection()] }

    public func add(to router: Router<HubContext>) {
        router.get("/") { _, _ in DeskEnv.redirect("/desk/") }
        let desk = router.group("desk").add(middleware: DeskHeaders()).add(middleware: DeskAuthMiddleware(env: env))
        desk.get("static/desk.css") { _, _ in Self.asset(PackageResources.desk_css, "text/css; charset=utf-8") }
        desk.get("static/desk.js") { _, _ in Self.asset(PackageResources.desk_js, "text/javascript; charset=utf-8") }
        desk.get("lang/:to") { request, context in
            let to = DeskLang(rawValue: context.parameters.get("to") ?? "") ?? .zh
            var next = request.uri.queryParameters.get("next") ?? "/desk/"
            if !next.hasPrefix("/desk/") || next.hasPrefix("//") { next = "/desk/" }
            var response = DeskEnv.redirect(next)
            response.headers[.setCookie] =
                "desk_lang=\(to.rawValue); Path=/desk; Max-Age=31536000; SameSite=Strict; Secure"
            return response
        }
        for section in sections { section.add(to: desk, env: env) }
    }

    static func asset(_ bytes: [UInt8], _ type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// The desk's security headers (no inline script or style: see DESK.md), and the language cookie.
struct DeskHeaders: RouterMiddleware {
    typealias Context = HubContext
    static let csp =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func handle(
        _ request: Request, context: HubContext, next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.lang = Self.cookie(request, "desk_lang").flatMap(DeskLang.init(rawValue:)) ?? .zh
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.csp
        response.headers[.xContentTypeOptions] = "nosniff"
        if let referrer = HTTPField.Name("Referrer-Policy") { response.headers[referrer] = "no-referrer" }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    /// A cookie's value from the request's `Cookie` headers.
    static func cookie(_ request: Request, _ name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }
}
