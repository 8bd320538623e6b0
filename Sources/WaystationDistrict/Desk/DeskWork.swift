import Foundation
import Hummingbird

/// Reports, riders, notices, services: the routes. The pages and actions are `DeskWork`'s
/// (DeskWork+Reports, +Riders, +Notices, +Services).
struct DeskWorkSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {
        let handles = RiderHandles()
        desk.get("reports") { request, context in
            await env.handle(request, context) { d in try await DeskWork.reportsPage(d) }
        }
        desk.post("reports/:id/:action") { request, context in
            await env.handle(request, context, role: .desk) { d in
                let form = try await DeskForm.read(request, context)
                return try await DeskWork.judge(
                    d, report: context.parameters.get("id"), action: context.parameters.get("action"), form)
            }
        }
        desk.get("riders") { request, context in
            await env.handle(request, context, role: .desk) { d in try await DeskWork.ridersPage(d, handles) }
        }
        desk.post("riders/lookup") { request, context in
            await env.handle(request, context, role: .desk) { d in
                let form = try await DeskForm.read(request, context)
                let handle = try await DeskWork.lookUp(
                    d, form.required("id", d.t("卡号或手机号", "card or phone number")), handles)
                return d.redirect("/desk/riders?rider=\(handle)")
            }
        }
        desk.post("riders/redeem") { request, context in
            await env.handle(request, context, role: .desk) { d in
                let form = try await DeskForm.read(request, context)
                let handle = try await DeskWork.redeem(d, form, handles)
                return d.redirect("/desk/riders?rider=\(handle)&done=redeemed")
            }
        }
        desk.get("notices") { request, context in
            await env.handle(request, context) { d in try await DeskWork.noticesPage(d) }
        }
        desk.post("notices") { request, context in
            await env.handle(request, context, role: .desk) { d in
                _ = try await DeskWork.addNotice(d, try await DeskForm.read(request, context))
                return d.redirect("/desk/notices?done=published")
            }
        }
        desk.post("notices/:id/withdraw") { request, context in
            await env.handle(request, context, role: .desk) { d in
                try await DeskWork.withdrawNotice(d, context.parameters.get("id"))
                return d.redirect("/desk/notices?done=withdrawn")
            }
        }
        desk.get("services") { request, context in
            await env.handle(request, context) { d in try await DeskWork.servicesPage(d) }
        }
        desk.post("services") { request, context in
            await env.handle(request, context, role: .desk) { d in
                try await DeskWork.putService(d, try await DeskForm.read(request, context))
                return d.redirect("/desk/services?done=saved")
            }
        }
        desk.post("services/:id/withdraw") { request, context in
            await env.handle(request, context, role: .desk) { d in
                try await DeskWork.withdrawService(d, context.parameters.get("id"))
                return d.redirect("/desk/services?done=withdrawn")
            }
        }
    }
}

/// The work pages and actions; each page's body is its own function (the tests render them).
enum DeskWork {
    /// The flash line for `?done=WORD`, from the page's words (zh, en); nil for none or an unknown word.
    static func flash(_ d: DeskRequest, _ words: [String: (String, String)]) -> String? {
        guard let done = d.query["done"], let words = words[done] else { return nil }
        return d.t(words.0, words.1)
    }

    /// "3 h", "12 min", "4 d" (Chinese: 3 小时 …).
    static func age(_ seconds: Int, _ d: DeskRequest) -> String {
        if seconds < 3600 {
            let m = max(1, seconds / 60)
            return d.t("\(m) 分钟", "\(m) min")
        }
        if seconds < 48 * 3600 {
            let h = seconds / 3600
            return d.t("\(h) 小时", "\(h) h")
        }
        let days = seconds / 86400
        return d.t("\(days) 天", "\(days) d")
    }

    static func zone(_ d: DeskRequest) -> TimeZone { TimeZone(identifier: d.env.config.timeZone) ?? .gmt }

    /// An RFC 3339 time as `yyyy-MM-dd HH:mm` in the district's zone (or `format`).
    static func local(_ rfc3339: String, _ d: DeskRequest, format: String = "yyyy-MM-dd HH:mm") -> String {
        guard let date = ISO8601DateFormatter().date(from: rfc3339) else { return rfc3339 }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone(d)
        f.dateFormat = format
        return f.string(from: date)
    }

    /// A `datetime-local` value (`2026-12-08T09:00`, seconds optional) in the district's zone, as
    /// RFC 3339 UTC; nil when it is not one.
    static func parseLocal(_ text: String, zone: TimeZone) -> String? {
        guard text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"#, options: .regularExpression) != nil else {
            return nil
        }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.isLenient = false
        f.dateFormat = text.count == 16 ? "yyyy-MM-dd'T'HH:mm" : "yyyy-MM-dd'T'HH:mm:ss"
        guard let date = f.date(from: text) else { return nil }
        let out = ISO8601DateFormatter()
        out.timeZone = .gmt
        return out.string(from: date)
    }

    /// A positive integer id from the path, or `notFound`.
    static func number(_ text: String?, _ what: String) throws(DeskError) -> Int {
        guard let text, let n = Int(text), n > 0 else { throw .notFound("no \(what) \(text ?? "")") }
        return n
    }

    /// An optional free-text field: trimmed, nil when empty, refused past `max` characters or with
    /// control characters.
    static func text(_ form: DeskForm, _ key: String, _ what: String, max: Int) throws(DeskError) -> String? {
        guard let v = form[key] else { return nil }
        guard v.count <= max else { throw .badRequest("\(what): longer than \(max) characters") }
        guard !v.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) else {
            throw .badRequest("\(what): control characters")
        }
        return v
    }

    static func selected(_ on: Bool) -> HTML { on ? " selected" : "" }
    static func checked(_ on: Bool) -> HTML { on ? " checked" : "" }

    /// The enrolled stations (not revoked), for filters and checkboxes.
    static func stations(_ d: DeskRequest) async throws -> [HubStore.Station] {
        try await d.env.store.stations().filter { !$0.revoked }
    }

    /// Station checkboxes (`input[name=stations]`), none checked: every station.
    static func stationBoxes(_ d: DeskRequest, _ stations: [HubStore.Station]) -> HTML {
        let boxes = stations.map { s -> HTML in
            "<label class=\"check\"><input type=\"checkbox\" name=\"stations\" value=\"\(s.id)\"> \(s.name) (\(s.id))</label>"
        }
        return """
            <fieldset class="stations"><legend>\(d.t("站点（不选 = 全部站点）", "Stations (none checked = every station)"))</legend>\(boxes)</fieldset>
            """
    }

    /// The chosen stations, each one enrolled; nil (every station) when none is checked.
    static func chosenStations(_ form: DeskForm, _ stations: [HubStore.Station]) throws(DeskError) -> [String]? {
        let chosen = Array(Set(form.all("stations"))).sorted()
        guard !chosen.isEmpty else { return nil }
        let known = Set(stations.map(\.id))
        if let bad = chosen.first(where: { !known.contains($0) }) {
            throw .badRequest("stations: \"\(bad.prefix(64))\" is not an enrolled station")
        }
        return chosen
    }

    /// Names for a list of station ids (nil: every station).
    static func stationNames(_ ids: [String]?, _ d: DeskRequest, _ stations: [HubStore.Station]) -> String {
        guard let ids else { return d.t("全部站点", "Every station") }
        let names = Dictionary(stations.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        return ids.map { id in names[id].map { n in "\(n) (\(id))" } ?? id }.joined(separator: d.t("、", ", "))
    }
}
