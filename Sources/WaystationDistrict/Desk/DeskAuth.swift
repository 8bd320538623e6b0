import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Finds the session of the request's `desk_session` cookie and checks the CSRF token of changes:
/// every POST under `/desk/` but the log-in needs a session (else 401) and its token, as the form
/// field `csrf` or the header `X-CSRF-Token` (else 403, and the handler never runs).
struct DeskAuthMiddleware: RouterMiddleware {
    typealias Context = HubContext
    let env: DeskEnv

    static let cookie = "desk_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")

    func handle(
        _ request: Request, context: HubContext, next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let path = request.uri.path
        if !path.hasPrefix("/desk/static/"), let token = DeskHeaders.cookie(request, Self.cookie) {
            context.desk = try await env.store.session(token: token)
        }
        guard request.method == .post, path != "/desk/login" else { return try await next(request, context) }
        guard let session = context.desk else {
            return env.unauthorized(context.lang)
        }
        if let name = Self.csrfHeader, let sent = request.headers[name] {
            guard Self.same(sent, session.csrf) else { return refuse(context.lang) }
            return try await next(request, context)
        }
        // The form field: collect the body, keep it in the request for the handler to read again.
        var request = request
        let buffer = try await request.collectBody(upTo: DeskForm.maxBytes)
        let form = DeskForm(urlencoded: String(buffer: buffer))
        guard let sent = form.fields["csrf"]?.first, Self.same(sent, session.csrf) else { return refuse(context.lang) }
        return try await next(request, context)
    }

    func refuse(_ lang: DeskLang) -> Response {
        env.errorPage(
            lang, .forbidden,
            lang == .zh
                ? "缺少或错误的 CSRF 令牌（missing or wrong CSRF token）：请重新打开页面再试。"
                : "missing or wrong CSRF token: reload the page and try again.",
            id: "csrf")
    }

    /// Compares in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// Log-in, log-out, the front door, users and the audit log.
struct DeskAuthSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {
        desk.get("login") { request, context in
            let next = Self.safeNext(request.uri.queryParameters.get("next"))
            if context.desk != nil { return DeskEnv.redirect(next) }
            return Self.loginPage(context.lang, next: next, name: nil, error: nil, status: .ok)
        }
        desk.post("login") { request, context in try await Self.login(request, context, env) }
        desk.post("logout") { request, context in
            await env.handle(request, context) { d in
                if let token = DeskHeaders.cookie(request, DeskAuthMiddleware.cookie) {
                    try await env.store.deleteSession(token: token)
                }
                try await d.audit("logout")
                var response = d.redirect("/desk/login")
                response.headers[.setCookie] = Self.sessionCookie("", maxAge: 0)
                return response
            }
        }
        desk.get("/") { request, context in await env.handle(request, context) { d in d.redirect("/desk/fleet") } }
        DeskUsersPages.add(to: desk, env: env)
        // Any other desk URL: the log-in first (so no one learns which pages exist), then 404.
        desk.get("**") { request, context in
            await env.handle(request, context) { d in
                throw DeskError.notFound(d.t("没有这个页面。", "No such page."))
            }
        }
        desk.post("**") { request, context in
            await env.handle(request, context) { d in
                throw DeskError.notFound(d.t("没有这个页面。", "No such page."))
            }
        }
    }

    /// `next` when it is a plain desk path, else the front door (no open redirect).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/desk/"), !next.hasPrefix("/desk/login"), next.count <= 500,
            !next.contains(".."), !next.lowercased().contains("%2e"),
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && $0 != "\\" })
        else { return "/desk/" }
        return next
    }

    static func sessionCookie(_ token: String, maxAge: Int) -> String {
        "\(DeskAuthMiddleware.cookie)=\(token); Path=/desk; HttpOnly; Secure; SameSite=Strict; Max-Age=\(maxAge)"
    }

    static func login(_ request: Request, _ context: HubContext, _ env: DeskEnv) async throws -> Response {
        let lang = context.lang
        func t(_ zh: String, _ en: String) -> String { lang == .zh ? zh : en }
        // Log-in CSRF: a form posted from another site says so. Browsers name the site in `Origin`
        // (but send "null" under our Referrer-Policy: no-referrer) and in `Sec-Fetch-Site`.
        guard Self.sameOrigin(request) else {
            return env.errorPage(lang, .forbidden, t("来源不符。", "This log-in came from another site."), id: "origin")
        }
        let form = try await DeskForm.read(request, context)
        let next = safeNext(form["next"])
        let typed = (form["name"] ?? "").lowercased()
        let password = form.fields["password"]?.first ?? ""
        let name = HubStore.validStaffName(typed) ? typed : nil
        let keys = ["name:\(typed.prefix(64))", "addr:\(context.address ?? "unknown")"]
        if let wait = try await env.store.loginWait(keys: keys) {
            env.logger.notice("desk: log-in throttled", metadata: ["name": "\(typed.prefix(64))"])
            var response = loginPage(
                lang, next: next, name: typed,
                error: t("登录失败次数过多；请 \(wait) 秒后再试。", "too many failed log-ins; try again in \(wait) s"),
                status: .tooManyRequests)
            if let retry = HTTPField.Name("Retry-After") { response.headers[retry] = String(wait) }
            return response
        }
        var found: (member: StaffMember, passwordHash: String)? = nil
        if let name { found = try await env.store.staff(name) }
        let matches = try await StaffPassword.verify(password, hash: found?.passwordHash)
        guard matches, let member = found?.member, member.disabled == nil else {
            try await env.store.recordLoginFailure(keys: keys)
            try await env.store.audit(
                staff: name ?? "?", address: context.address, action: "login.failed", target: nil,
                detail: name == nil ? "invalid name" : (matches ? "account disabled" : nil))
            return loginPage(
                lang, next: next, name: typed, error: t("用户名或密码错误。", "Wrong name or password."),
                status: .unauthorized)
        }
        try await env.store.clearLoginFailures(keys: keys)
        let hours = env.config.desk.sessionHours
        let session = try await env.store.createSession(staff: member.name, hours: hours)
        try await env.store.audit(
            staff: member.name, address: context.address, action: "login", target: nil, detail: nil)
        var response = DeskEnv.redirect(next)
        response.headers[.setCookie] = sessionCookie(session.token, maxAge: hours * 3600)
        return response
    }

    /// False when the request says it comes from another site.
    static func sameOrigin(_ request: Request) -> Bool {
        if let name = HTTPField.Name("Sec-Fetch-Site"), let site = request.headers[name],
            site != "same-origin", site != "none"
        {
            return false
        }
        if let name = HTTPField.Name("Origin"), let origin = request.headers[name], origin != "null" {
            let host = request.head.authority ?? ""
            return !host.isEmpty && (origin == "https://\(host)" || origin == "http://\(host)")
        }
        return true
    }

    static func loginPage(
        _ lang: DeskLang, next: String, name: String?, error: String?, status: HTTPResponse.Status
    ) -> Response {
        func t(_ zh: String, _ en: String) -> String { lang == .zh ? zh : en }
        let other: DeskLang = lang == .zh ? .en : .zh
        let here = "/desk/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let toggle =
            "/desk/lang/\(other.rawValue)?next="
            + (here.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let errorHTML: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        let body: HTML = """
            <header class="top"><span class="brand">\(t("驿站 · 区级工作台", "Waystation desk"))</span>
            <div class="me"><a id="lang-toggle" href="\(toggle)" lang="\(other.htmlLang)">\(other == .en ? "English" : "中文")</a></div></header>
            <main id="main" class="narrow"><h1>\(t("登录", "Log in"))</h1>\(errorHTML)
            <form id="login" method="post" action="/desk/login">
            <input type="hidden" name="next" value="\(next)">
            <label>\(t("用户名", "Name")) <input name="name" value="\(name)" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus></label>
            <label>\(t("密码", "Password")) <input type="password" name="password" autocomplete="current-password" required></label>
            <button type="submit">\(t("登录", "Log in"))</button></form></main>
            """
        return DeskLayout.document(lang: lang, title: t("登录", "Log in"), nav: nil, body: body, status: status)
    }
}
