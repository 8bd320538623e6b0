import Foundation
import Hummingbird
import WaystationLink
import WaystationProtocol

/// Riders' points at the desk: a typed or scanned card or phone number is normalised by the kiosk's
/// rule, sealed to the hub's own key for station "desk" and opened through the kiosks' look-up path,
/// so it gives the same pseudonym. The id itself is never stored, logged, or put in a URL; the
/// pseudonym stays on the server behind a random handle.
extension DeskWork {
    /// The station id a desk look-up is sealed for (the HPKE aad).
    static let lookupStation = "desk"

    /// A card or phone number (as typed) to its district pseudonym, by the kiosks' one path.
    static func pseudonym(ofRaw raw: String, _ keys: HubKeys) throws -> String {
        let id: RiderID
        do {
            id = try RiderID(raw)
        } catch {
            throw DeskError.badRequest(error.description)
        }
        let sealed = try RiderSeal.seal(
            id.normalized, ref: "desk", station: lookupStation, to: keys.hpke.publicKey)
        do {
            return try RiderLookup.pseudonym(sealed, station: lookupStation, keys)
        } catch {
            throw HubError.internal("the desk's own sealed id did not open: \(error.description)")
        }
    }

    /// POST /desk/riders/lookup: the rider's handle (audited without the id).
    static func lookUp(_ d: DeskRequest, _ raw: String, _ handles: RiderHandles) async throws -> String {
        let rider = try pseudonym(ofRaw: raw, d.env.keys)
        let handle = await handles.put(rider, staff: d.session.staff)
        try await d.audit("rider.lookup")
        return handle
    }

    /// POST /desk/riders/redeem: spends the points once per form key; the handle to show again.
    static func redeem(_ d: DeskRequest, _ form: DeskForm, _ handles: RiderHandles) async throws -> String {
        let handle = try form.required("rider", "rider")
        guard let rider = await handles.get(handle, staff: d.session.staff) else {
            throw DeskError.conflict(
                d.t("查询已过期（10 分钟），请重新查询骑手。", "The look-up expired (10 min): look the rider up again."))
        }
        let pointsText = try form.required("points", d.t("积分", "points"))
        guard let points = Int(pointsText), (1...100_000).contains(points) else {
            throw DeskError.badRequest(d.t("积分必须是 1 到 100000 的整数。", "points: must be a whole number 1...100000"))
        }
        guard let what = try text(form, "what", d.t("礼品", "gift"), max: 200) else {
            throw DeskError.badRequest(d.t("请填写兑换的礼品。", "gift: say what was given"))
        }
        let key = try form.required("key", "key")
        let balance = try await d.env.store.redeem(
            station: nil, RedeemRequest(rider: rider, points: points, gift: what, key: key, by: d.session.staff))
        try await d.audit("rider.redeem", detail: "\(points) points: \(what); balance \(balance)")
        return handle
    }

    static let riderWords: [String: (String, String)] = ["redeemed": ("已记录兑换。", "Gift recorded.")]

    static func ridersPage(_ d: DeskRequest, _ handles: RiderHandles) async throws -> Response {
        DeskLayout.page(
            d, title: d.t("骑手积分", "Riders"), active: "riders", flash: flash(d, riderWords),
            body: try await ridersBody(d, handles))
    }

    static func ridersBody(_ d: DeskRequest, _ handles: RiderHandles) async throws -> HTML {
        let lookup: HTML = """
            <h1>\(d.t("骑手积分", "Riders' points"))</h1>
            <form id="rider-lookup" method="post" action="/desk/riders/lookup">\(d.csrfField)
            <label>\(d.t("扫描或输入卡号、手机号", "Scan or type the card or phone number"))
            <input name="id" type="text" autocomplete="off" autofocus required maxlength="64" inputmode="text"></label>
            <button type="submit">\(d.t("查询", "Look up"))</button></form>
            <p class="dim">\(d.t("号码只用于计算骑手的匿名编号，不会保存。", "The number is only used to find the rider's pseudonym; it is never stored."))</p>
            """
        guard let handle = d.query["rider"], !handle.isEmpty else { return lookup }
        guard let rider = await handles.get(handle, staff: d.session.staff) else {
            return lookup
                + "<p class=\"error\" id=\"rider-expired\">\(d.t("查询已过期（10 分钟），请重新查询。", "The look-up expired (10 min): look the rider up again."))</p>"
        }
        let balance = try await d.env.store.balance(rider: rider).balance
        let entries = try await d.env.store.ledger(rider: rider)
        let stationName = Dictionary(
            try await d.env.store.stations().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let rows = entries.map { e -> HTML in
            let station = e.station.map { stationName[$0] ?? $0 } ?? d.t("区级", "District")
            let sign = e.points > 0 ? "+" : ""
            return """
                <tr><td class="at">\(local(e.at, d))</td><td class="points">\(sign)\(e.points)</td>
                <td class="why">\(e.why)</td><td class="station">\(station)</td></tr>
                """
        }
        let history: HTML =
            entries.isEmpty
            ? "<p class=\"empty\">\(d.t("还没有积分记录。", "No points yet."))</p>"
            : """
            <table id="rider-history"><thead><tr><th>\(d.t("日期", "Date"))</th><th>\(d.t("积分", "Points"))</th>
            <th>\(d.t("原因", "Why"))</th><th>\(d.t("站点", "Station"))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        return lookup + """
            <section id="rider"><h2>\(d.t("积分余额", "Balance"))</h2>
            <p class="balance"><strong id="rider-balance">\(balance)</strong> \(d.t("分", "points"))</p>
            \(history)
            <h2>\(d.t("兑换礼品", "Record a gift"))</h2>
            <form id="redeem" method="post" action="/desk/riders/redeem">\(d.csrfField)
            <input type="hidden" name="rider" value="\(handle)"><input type="hidden" name="key" value="\(randomToken())">
            <label>\(d.t("积分", "Points")) <input name="points" type="number" min="1" max="\(min(balance, 100_000))" required></label>
            <label>\(d.t("礼品", "Gift")) <input name="what" maxlength="200" required></label>
            <button type="submit">\(d.t("兑换", "Redeem"))</button></form></section>
            """
    }

    /// 16 random bytes, base64url without padding.
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Looked-up riders' pseudonyms behind random handles, for ten minutes, for the staff member who
/// looked them up (in memory only: the browser never sees a pseudonym).
actor RiderHandles {
    static let lifetime = Duration.seconds(600)
    private var entries: [String: (rider: String, staff: String, expires: ContinuousClock.Instant)] = [:]

    func put(_ rider: String, staff: String) -> String {
        let now = ContinuousClock.now
        entries = entries.filter { $0.value.expires > now }
        let handle = DeskWork.randomToken()
        entries[handle] = (rider, staff, now + Self.lifetime)
        return handle
    }

    func get(_ handle: String, staff: String) -> String? {
        guard let e = entries[handle], e.staff == staff, e.expires > ContinuousClock.now else { return nil }
        return e.rider
    }
}
