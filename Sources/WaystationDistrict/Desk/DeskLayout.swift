import Hummingbird
import NIOCore

/// The desk's page frame: head, navigation by role, language toggle, who is signed in, log-out.
public enum DeskLayout {
    /// The navigation entries: id (`a[data-nav=ID]`), Chinese, English, the role that sees it.
    static let nav: [(id: String, zh: String, en: String, role: DeskRole)] = [
        ("fleet", "站点", "Fleet", .viewer), ("alerts", "告警", "Alerts", .viewer),
        ("reports", "上报", "Reports", .viewer), ("riders", "骑手积分", "Riders", .desk),
        ("notices", "通知", "Notices", .viewer), ("services", "服务", "Services", .viewer),
        ("users", "账号", "Users", .admin), ("audit", "审计", "Audit", .admin),
    ]

    /// A whole page for a signed-in member; `active` is the nav id to mark.
    public static func page(
        _ d: DeskRequest, title: String, active: String, flash: String? = nil, body: HTML,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let links = nav.filter { d.session.role >= $0.role }.map { item -> HTML in
            let current: HTML = item.id == active ? " aria-current=\"page\"" : ""
            return "<a href=\"/desk/\(item.id)\" data-nav=\"\(item.id)\"\(current)>\(d.t(item.zh, item.en))</a>"
        }
        let other: DeskLang = d.lang == .zh ? .en : .zh
        let toggleURL =
            "/desk/lang/\(other.rawValue)?next=\(d.uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        let header: HTML = """
            <header class="top"><a class="brand" href="/desk/">\(d.t("驿站 · 区级工作台", "Waystation desk"))</a>
            <nav id="nav">\(links)</nav>
            <div class="me"><a id="lang-toggle" href="\(toggleURL)" lang="\(other.htmlLang)">\(other == .en ? "English" : "中文")</a>
            <span id="whoami">\(d.session.staff) · \(d.session.role.rawValue)</span>
            <form id="logout" method="post" action="/desk/logout">\(d.csrfField)<button type="submit">\(d.t("退出", "Log out"))</button></form></div></header>
            """
        let flashHTML: HTML = flash.map { "<p class=\"flash\" role=\"status\">\($0)</p>" } ?? ""
        return document(
            lang: d.lang, title: title, nav: header, body: "<main id=\"main\">\(flashHTML)\(body)</main>",
            status: status)
    }

    /// The HTML document around a body.
    public static func document(
        lang: DeskLang, title: String, nav: HTML?, body: HTML, status: HTTPResponse.Status = .ok
    ) -> Response {
        let doc: HTML = """
            <!doctype html><html lang="\(lang.htmlLang)"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
            <title>\(title) · \(lang == .zh ? "区级工作台" : "District desk")</title>
            <link rel="stylesheet" href="/desk/static/desk.css"><script src="/desk/static/desk.js" defer></script>
            </head><body>\(nav ?? "")\(body)</body></html>
            """
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: doc.text)))
    }
}
