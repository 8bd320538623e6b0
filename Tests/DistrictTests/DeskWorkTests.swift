import Foundation
import Logging
import PostgresNIO
import Testing
import WaystationLink
import WaystationLinkClient

@testable import WaystationDistrict

extension DistrictSuite {
    @Suite("District desk: reports, riders, notices, services", .serialized)
    struct DeskWorkTests {
        /// A desk request as the auth middleware would hand it over: `clerk` signed in with `role`.
        static func desk(
            _ hub: TestHub, role: DeskRole = .desk, staff: String = "clerk", lang: DeskLang = .en,
            _ query: [String: String] = [:]
        ) throws -> DeskRequest {
            let env = DeskEnv(
                config: hub.config, keys: hub.keys, store: hub.store,
                upstream: try DeskUpstream(config: hub.config.desk),
                logger: Logger(label: "desk-test"))
            return DeskRequest(
                env: env, session: DeskSession(staff: staff, role: role, csrf: "csrf-token"), lang: lang,
                uri: "/desk/reports", address: "127.0.0.1", query: query)
        }

        /// A report made `ago` seconds before now.
        static func report(
            _ id: Int, _ category: String, location: String = "Gate 1", note: String?, rider: String? = nil,
            ago: Double = 600
        ) -> DistrictReport {
            let created = ISO8601DateFormatter().string(from: Date(timeIntervalSinceNow: -ago))
            return DistrictReport(
                id: id, key: "report-\(id)", category: category, location: location, note: note, rider: rider,
                created: created)
        }

        static func form(_ fields: [(String, String)]) -> DeskForm {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return DeskForm(
                urlencoded: fields.map { k, v in
                    "\(k)=\(v.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
                }.joined(separator: "&"))
        }

        static func actions(_ hub: TestHub) async throws -> [String] {
            var out: [String] = []
            for try await (action, staff) in try await hub.store.db.client.query(
                "SELECT action, staff FROM audit ORDER BY id"
            ).decode((String, String).self) { out.append("\(staff) \(action)") }
            return out
        }

        @Test("a report is dispatched only after it is verified, and fixed only after it is dispatched")
        func dispatchAfterVerify() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-001")) { client in
                    _ = try await client.sendReports(
                        ReportsRequest(reports: [Self.report(1, "pothole", note: "deep", ago: 3 * 3600 + 60)]))
                    let d = try Self.desk(hub)
                    let id = try #require(try await hub.store.deskReports(.init()).first?.id)
                    let note = Self.form([("note", "crew sent")])

                    // Neither before its turn: 409 (a conflict), nothing changed.
                    for action in ["dispatch", "fixed"] {
                        await #expect(
                            throws: HubError.conflict(
                                "report \(id) is pending, not \(action == "dispatch" ? "verified" : "dispatched")")
                        ) {
                            _ = try await DeskWork.judge(
                                d, report: "\(id)", action: action, Self.form([("department", "city")]))
                        }
                    }
                    _ = try await DeskWork.judge(d, report: "\(id)", action: "verify", note)
                    await #expect(throws: HubError.self) {
                        _ = try await DeskWork.judge(d, report: "\(id)", action: "reject", note)  // already judged
                    }
                    await #expect(throws: HubError.self) {
                        _ = try await DeskWork.judge(d, report: "\(id)", action: "fixed", note)
                    }
                    await #expect(throws: DeskError.self) {  // not one of the district's departments
                        _ = try await DeskWork.judge(
                            d, report: "\(id)", action: "dispatch", Self.form([("department", "police")]))
                    }
                    _ = try await DeskWork.judge(
                        d, report: "\(id)", action: "dispatch", Self.form([("department", "power"), ("note", "cable")]))
                    let dispatched = try #require(try await hub.store.deskReports(.init(status: "dispatched")).first)
                    #expect(dispatched.department == "power")
                    #expect(dispatched.state == "dispatched")
                    await #expect(throws: HubError.self) {
                        try await hub.store.dispatch(report: id, department: "city", note: nil, by: "clerk")
                    }
                    _ = try await DeskWork.judge(d, report: "\(id)", action: "fixed", note)
                    await #expect(throws: HubError.self) { try await hub.store.fixed(report: id, note: nil, by: "x") }
                    #expect(try await hub.store.deskReports(.init(status: "fixed")).map(\.id) == [id])
                    #expect(try await hub.store.deskReports(.init()).isEmpty)  // no longer pending
                    #expect(try await hub.store.deskReports(.init(status: "verified")).isEmpty)  // moved on
                    await #expect(throws: HubError.notFound("no report 999")) {
                        try await hub.store.dispatch(report: 999, department: "city", note: nil, by: "clerk")
                    }

                    // The queue shows what happened, in words: the age, the state and the department.
                    let page = try await DeskWork.reportsBody(try Self.desk(hub, ["status": "all"])).text
                    #expect(page.contains("<td class=\"age\""))
                    #expect(page.contains(">3 h</td>"))
                    #expect(page.contains("Fixed · Power supply"))
                    #expect(page.contains("<td class=\"category\">Pothole</td>"))
                    let zh = try await DeskWork.reportsBody(try Self.desk(hub, lang: .zh, ["status": "all"])).text
                    #expect(zh.contains(">3 小时</td>"))
                    #expect(zh.contains("<td class=\"category\">坑洞</td>"))
                    #expect(
                        try await Self.actions(hub) == [
                            "clerk report.verify", "clerk report.dispatch", "clerk report.fixed",
                        ])
                }
            }
        }

        @Test("report text that looks like markup renders as text in the queue")
        func escaping() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-001")) { client in
                    let script = "<script>alert(1)</script>"
                    let img = "<img src=x onerror=alert(1)>"
                    _ = try await client.sendReports(
                        ReportsRequest(reports: [
                            Self.report(1, "pothole", location: img, note: script),
                            Self.report(2, "<b>odd</b>", location: "\"quoted\" & 'single'", note: img),
                        ]))
                    let d = try Self.desk(hub)
                    let pending = try await hub.store.deskReports(.init())
                    #expect(pending.count == 2)
                    let first = try #require(pending.first)
                    _ = try await DeskWork.judge(
                        d, report: "\(first.id)", action: "verify", Self.form([("note", script)]))
                    for lang in [DeskLang.zh, .en] {
                        for status in ["pending", "all", "verified"] {
                            let page = try await DeskWork.reportsBody(
                                try Self.desk(hub, lang: lang, ["status": status])
                            )
                            .text
                            #expect(!page.contains("<script"), "\(status) \(lang)")
                            #expect(!page.contains("<img"), "\(status) \(lang)")
                            #expect(!page.contains("<b>odd"), "\(status) \(lang)")
                        }
                    }
                    let all = try await DeskWork.reportsBody(try Self.desk(hub, ["status": "all"])).text
                    #expect(all.contains("<td class=\"note\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
                    #expect(all.contains("<td class=\"note\">&lt;img src=x onerror=alert(1)&gt;</td>"))
                    #expect(all.contains("<td class=\"location\">&lt;img src=x onerror=alert(1)&gt;</td>"))
                    #expect(all.contains("&quot;quoted&quot; &amp; &#39;single&#39;"))
                    #expect(all.contains("verdict-note\">&lt;script&gt;alert(1)&lt;/script&gt;"))
                    // A query parameter is escaped where it is echoed (the filter form), too.
                    let odd = try await DeskWork.reportsBody(
                        try Self.desk(hub, ["status": "all", "station": "\"><script>x</script>"])
                    ).text
                    #expect(!odd.contains("<script"))
                    // A viewer sees the queue without the forms.
                    let viewer = try await DeskWork.reportsBody(try Self.desk(hub, role: .viewer)).text
                    #expect(viewer.contains("data-report=\"\(pending[1].id)\""))
                    #expect(!viewer.contains("class=\"verify\""))
                    let clerk = try await DeskWork.reportsBody(d).text
                    #expect(clerk.contains("<form class=\"verify\""))
                }
            }
        }

        @Test("the desk's look-up gives the kiosk's pseudonym and balance, stores no id, redeems once per key")
        func riders() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-001")) { client in
                    let raw = "13800138000"
                    let kiosk = try await LedgerTests.pseudonym(raw, hub, client)
                    _ = try await client.sendReports(
                        ReportsRequest(reports: [Self.report(1, "manhole", note: nil, rider: kiosk)]))
                    let id = try #require(try await hub.store.deskReports(.init()).first?.id)
                    try await hub.store.verify(report: id, note: nil, by: "clerk")

                    let handles = RiderHandles()
                    let d = try Self.desk(hub)
                    // Typed as a person would, with separators: the kiosk's one rule makes it the same rider.
                    let handle = try await DeskWork.lookUp(d, " 138-0013 8000 ", handles)
                    #expect(await handles.get(handle, staff: "clerk") == kiosk)
                    #expect(await handles.get(handle, staff: "someone-else") == nil)
                    await #expect(throws: DeskError.self) { _ = try await DeskWork.lookUp(d, "13800<138000", handles) }

                    let page = try await DeskWork.ridersBody(try Self.desk(hub, ["rider": handle]), handles).text
                    #expect(page.contains("<strong id=\"rider-balance\">10</strong>"))
                    #expect(page.contains("<table id=\"rider-history\">"))
                    #expect(page.contains("<td class=\"points\">+10</td>"))
                    #expect(page.contains("Station fl-001"))
                    #expect(page.contains("<form id=\"redeem\""))
                    #expect(!page.contains(kiosk))  // the pseudonym stays on the server
                    #expect(!page.contains(raw))

                    // The same form (one key) submitted twice spends once.
                    let redeem = Self.form([
                        ("rider", handle), ("points", "4"), ("what", "water bottle"), ("key", "k-1"),
                    ])
                    _ = try await DeskWork.redeem(d, redeem, handles)
                    _ = try await DeskWork.redeem(d, redeem, handles)
                    #expect(try await hub.store.balance(rider: kiosk).balance == 6)
                    // The kiosk hears the same balance.
                    #expect(try await client.changes(since: "").balances.first { $0.rider == kiosk }?.balance == 6)
                    let again = Self.form([("rider", handle), ("points", "7"), ("what", "cap"), ("key", "k-2")])
                    await #expect(throws: HubError.insufficient(balance: 6)) {
                        _ = try await DeskWork.redeem(d, again, handles)
                    }
                    let after = try await DeskWork.ridersBody(try Self.desk(hub, ["rider": handle]), handles).text
                    #expect(after.contains("<strong id=\"rider-balance\">6</strong>"))
                    #expect(after.contains("<td class=\"points\">-4</td>"))
                    // Another staff member cannot use this one's handle.
                    let other = try Self.desk(hub, staff: "other")
                    await #expect(throws: DeskError.self) { _ = try await DeskWork.redeem(other, redeem, handles) }

                    // The id is nowhere in the hub's database: every text-like column of every table.
                    let columns = try await hub.store.db.client.query(
                        """
                        SELECT table_name::text, column_name::text FROM information_schema.columns
                        WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'ARRAY', 'bytea')
                        """
                    ).decode((String, String).self)
                    var searched = 0
                    for try await (table, column) in columns {
                        for needle in [raw, "138-0013 8000"] {
                            let sql = "SELECT count(*) FROM \"\(table)\" WHERE \"\(column)\"::text LIKE '%\(needle)%'"
                            for try await n in try await hub.store.db.client.query(PostgresQuery(unsafeSQL: sql))
                                .decode(Int.self)
                            {
                                #expect(n == 0, "the rider id (\(needle)) is in \(table).\(column)")
                            }
                        }
                        searched += 1
                    }
                    #expect(searched > 20)
                    #expect(
                        try await Self.actions(hub) == [
                            "clerk rider.lookup", "clerk rider.redeem", "clerk rider.redeem",
                        ])
                }
            }
        }

        @Test("notices reach only the chosen stations; a withdrawn one is withdrawn at the station")
        func notices() async throws {
            try await TestHub.with { hub in
                let a = try await hub.enrol("fl-a")
                let b = try await hub.enrol("fl-b")
                let startA = try await a.changes(since: "")
                let startB = try await b.changes(since: "")
                let d = try Self.desk(hub)
                let onlyA = try await DeskWork.addNotice(
                    d,
                    Self.form([
                        ("title_zh", "义诊"), ("title", ""), ("body_zh", "<b>免费</b>"), ("valid_from", "2026-12-08T09:00"),
                        ("valid_until", "2026-12-08T17:00"), ("stations", "fl-a"),
                    ]))
                let everyone = try await DeskWork.addNotice(
                    d,
                    Self.form([
                        ("title_zh", "志愿者招募"), ("title", "Volunteers wanted"), ("valid_from", "2026-12-08T09:00"),
                        ("valid_until", "2027-01-08T09:00"),
                    ]))
                await #expect(throws: DeskError.self) {  // ends before it starts
                    _ = try await DeskWork.addNotice(
                        d,
                        Self.form([
                            ("title_zh", "x"), ("valid_from", "2026-12-08T09:00"), ("valid_until", "2026-12-08T08:00"),
                        ]))
                }
                await #expect(throws: DeskError.self) {  // not an enrolled station
                    _ = try await DeskWork.addNotice(
                        d,
                        Self.form([
                            ("title_zh", "x"), ("valid_from", "2026-12-08T09:00"), ("valid_until", "2026-12-09T08:00"),
                            ("stations", "fl-zz"),
                        ]))
                }
                let atA = try await a.changes(since: startA.cursor)
                let atB = try await b.changes(since: startB.cursor)
                #expect(atA.notices.map(\.id) == [onlyA, everyone])
                #expect(atB.notices.map(\.id) == [everyone])
                let first = try #require(atA.notices.first)
                #expect(first.from == "2026-12-08T01:00:00Z")  // 09:00 in Asia/Shanghai
                #expect(first.title == "义诊")  // no English title: the Chinese one
                #expect(first.titleZh == "义诊")
                #expect(first.withdrawn == false)

                try await DeskWork.withdrawNotice(d, "\(onlyA)")
                await #expect(throws: HubError.self) { try await DeskWork.withdrawNotice(d, "\(onlyA)") }
                let laterA = try await a.changes(since: atA.cursor)
                let laterB = try await b.changes(since: atB.cursor)
                #expect(laterA.notices.map(\.id) == [onlyA])
                #expect(laterA.notices.first?.withdrawn == true)  // the station takes it off its kiosk
                #expect(laterB.notices.isEmpty)

                let page = try await DeskWork.noticesBody(d).text
                #expect(page.contains("<tr data-notice=\"\(onlyA)\" data-state=\"withdrawn\">"))
                #expect(page.contains("2026-12-08 09:00 – 2026-12-08 17:00"))
                #expect(page.contains("<form id=\"notice-new\""))
                #expect(page.contains("<input type=\"checkbox\" name=\"stations\" value=\"fl-b\">"))
                let zh = try await DeskWork.noticesBody(try Self.desk(hub, lang: .zh)).text
                #expect(zh.contains("&lt;b&gt;免费&lt;/b&gt;"))
                let viewer = try await DeskWork.noticesBody(try Self.desk(hub, role: .viewer)).text
                #expect(!viewer.contains("notice-new"))
                #expect(!viewer.contains("class=\"withdraw\""))
                #expect(
                    try await Self.actions(hub) == ["clerk notice.add", "clerk notice.add", "clerk notice.withdraw"])
                try await a.shutdown()
                try await b.shutdown()
            }
        }

        @Test("services: hours are checked, chosen stations hear of them, a withdrawal reaches them")
        func services() async throws {
            try await TestHub.with { hub in
                let a = try await hub.enrol("fl-a")
                let b = try await hub.enrol("fl-b")
                let startA = try await a.changes(since: "")
                let startB = try await b.changes(since: "")
                let d = try Self.desk(hub)
                for hours in ["9:00-17:00", "17:00-09:00", "14:00-25:00", "14:00"] {
                    await #expect(throws: DeskError.self, "\(hours)") {
                        try await DeskWork.putService(
                            d, Self.form([("id", "legal-aid"), ("name_zh", "法律援助"), ("hours", hours)]))
                    }
                }
                await #expect(throws: DeskError.self) {
                    try await DeskWork.putService(d, Self.form([("id", "Legal Aid"), ("name_zh", "法律援助")]))
                }
                try await DeskWork.putService(
                    d,
                    Self.form([
                        ("id", "legal-aid"), ("name_zh", "法律援助"), ("name", "Legal aid"), ("days", "sat"),
                        ("days", "mon"),
                        ("hours", "14:00-17:00"), ("stations", "fl-a"),
                    ]))
                let atA = try await a.changes(since: startA.cursor)
                #expect(atA.services.map(\.id) == ["legal-aid"])
                #expect(atA.services.first?.days == ["mon", "sat"])
                #expect(atA.services.first?.hours == "14:00-17:00")
                #expect(try await b.changes(since: startB.cursor).services.isEmpty)
                let page = try await DeskWork.servicesBody(d).text
                #expect(page.contains("<tr data-service=\"legal-aid\" data-state=\"offered\">"))
                #expect(page.contains("Mon, Sat"))

                try await DeskWork.withdrawService(d, "legal-aid")
                let laterA = try await a.changes(since: atA.cursor)
                #expect(laterA.services.map(\.id) == ["legal-aid"])
                #expect(laterA.services.first?.withdrawn == true)
                await #expect(throws: HubError.notFound("no service nope")) {
                    try await DeskWork.withdrawService(d, "nope")
                }
                #expect(try await Self.actions(hub) == ["clerk service.put", "clerk service.withdraw"])
                try await a.shutdown()
                try await b.shutdown()
            }
        }

        @Test("CLI: reports dispatch (a district department only, after verify) and reports fixed")
        func cli() async throws {
            try await TestHub.with { hub in
                let binary = Open311Tests.repo + "/.build/debug/waystation-district"
                let config = hub.dir + "/hub.toml"
                try await using(try await hub.enrol("fl-001")) { client in
                    _ = try await client.sendReports(ReportsRequest(reports: [Self.report(1, "pothole", note: nil)]))
                }
                let id = try #require(try await hub.store.deskReports(.init()).first?.id)
                func run(_ args: [String]) async throws -> Run.Output {
                    try await Run.run(binary, ["--config", config, "reports"] + args)
                }
                let early = try await run(["dispatch", "\(id)", "--department", "city"])
                #expect(early.status != 0)
                #expect(early.stderr.contains("is pending, not verified"))
                #expect(try await run(["verify", "\(id)"]).status == 0)
                let unknown = try await run(["dispatch", "\(id)", "--department", "police"])
                #expect(unknown.status != 0)
                #expect(unknown.stderr.contains("city, power, community"))
                let dispatched = try await run(["dispatch", "\(id)", "--department", "power", "--note", "cable"])
                #expect(dispatched.status == 0, "\(dispatched.stderr)")
                #expect(dispatched.stdout.contains("dispatched to power"))
                let fixed = try await run(["fixed", "\(id)"])
                #expect(fixed.status == 0, "\(fixed.stderr)")
                #expect(try await hub.store.deskReports(.init(status: "fixed")).first?.department == "power")
                #expect(try await Self.actions(hub) == ["cli report.dispatch", "cli report.fixed"])
            }
        }

        /// The value of the first input named `name` in a page.
        static func field(_ name: String, in body: String) -> String? {
            guard let r = body.range(of: "name=\"\(name)\" value=\"") else { return nil }
            return String(body[r.upperBound...].prefix { $0 != "\"" })
        }

        @Test("through the hub: 303 after each change, 409 when already judged, 403 for a viewer, no id in a URL")
        func http() async throws {
            try await TestHub.with { hub in
                try await hub.store.addStaff(
                    name: "clerk", role: .desk, passwordHash: try await StaffPassword.hash("clerk password 1"))
                try await hub.store.addStaff(
                    name: "vic", role: .viewer, passwordHash: try await StaffPassword.hash("viewer password 1"))
                try await using(try await hub.enrol("fl-001")) { client in
                    let rider = try await LedgerTests.pseudonym("13800138000", hub, client)
                    _ = try await client.sendReports(
                        ReportsRequest(reports: [
                            Self.report(1, "pothole", note: "<script>alert(1)</script>", rider: rider)
                        ]))
                    let id = try #require(try await hub.store.deskReports(.init()).first?.id)
                    try await DeskBrowser.using(hub) { browser in
                        #expect(try await browser.login("clerk", "clerk password 1").status == 303)
                        let queue = try await browser.get("/desk/reports")
                        #expect(queue.status == 200)
                        #expect(queue.body.contains("<td class=\"note\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
                        #expect(!queue.body.contains("<script>alert"))
                        #expect(queue.body.contains("<tr data-report=\"\(id)\""))
                        let csrf = try #require(DeskBrowser.csrf(in: queue))

                        let verify = try await browser.post(
                            "/desk/reports/\(id)/verify", [("csrf", csrf), ("note", "seen it")])
                        #expect(verify.status == 303)
                        #expect(verify.location == "/desk/reports?done=verified")
                        let again = try await browser.post("/desk/reports/\(id)/reject", [("csrf", csrf)])
                        #expect(again.status == 409)
                        #expect(again.body.contains("already verified"))
                        let early = try await browser.post("/desk/reports/\(id)/fixed", [("csrf", csrf)])
                        #expect(early.status == 409)
                        let verified = try await browser.get("/desk/reports?done=verified&status=verified")
                        #expect(verified.body.contains("<p class=\"flash\""))
                        #expect(verified.body.contains("<form class=\"dispatch\""))
                        // The change goes back to the same view of the queue.
                        let back = try #require(Self.field("back", in: verified.body))
                        #expect(back == "status=verified")
                        let dispatch = try await browser.post(
                            "/desk/reports/\(id)/dispatch", [("csrf", csrf), ("department", "city"), ("back", back)])
                        #expect(dispatch.location == "/desk/reports?status=verified&done=dispatched")
                        let fixed = try await browser.post("/desk/reports/\(id)/fixed", [("csrf", csrf)])
                        #expect(fixed.location == "/desk/reports?done=fixed")

                        // The rider: the id goes in a POST body only; the page shows the balance.
                        let looked = try await browser.post(
                            "/desk/riders/lookup", [("csrf", csrf), ("id", "138 0013 8000")])
                        #expect(looked.status == 303)
                        let location = try #require(looked.location)
                        #expect(location.hasPrefix("/desk/riders?rider="))
                        #expect(!location.contains("13800138000"))
                        let page = try await browser.get(location)
                        #expect(page.body.contains("<strong id=\"rider-balance\">5</strong>"))
                        #expect(!page.body.contains(rider))
                        let handle = try #require(Self.field("rider", in: page.body))
                        let key = try #require(Self.field("key", in: page.body))
                        let redeem = [
                            ("csrf", csrf), ("rider", handle), ("points", "2"), ("what", "pen"), ("key", key),
                        ]
                        for _ in 0..<2 {  // a double submit
                            let spent = try await browser.post("/desk/riders/redeem", redeem)
                            #expect(spent.location == "/desk/riders?rider=\(handle)&done=redeemed")
                        }
                        let after = try await browser.get("/desk/riders?rider=\(handle)&done=redeemed")
                        #expect(after.body.contains("<strong id=\"rider-balance\">3</strong>"))
                        #expect(after.body.contains("<p class=\"flash\""))

                        let notice = try await browser.post(
                            "/desk/notices",
                            [
                                ("csrf", csrf), ("title_zh", "义诊"), ("valid_from", "2026-12-08T09:00"),
                                ("valid_until", "2026-12-08T17:00"), ("stations", "fl-001"),
                            ])
                        #expect(notice.location == "/desk/notices?done=published")
                        #expect(try await browser.get("/desk/notices").body.contains("义诊"))
                        let service = try await browser.post(
                            "/desk/services",
                            [("csrf", csrf), ("id", "legal-aid"), ("name_zh", "法律援助"), ("hours", "14:00-17:00")])
                        #expect(service.location == "/desk/services?done=saved")
                        let bad = try await browser.post(
                            "/desk/services", [("csrf", csrf), ("id", "x"), ("name_zh", "x"), ("hours", "5pm")])
                        #expect(bad.status == 400)
                        #expect(bad.body.contains("HH:MM-HH:MM"))
                    }
                    try await DeskBrowser.using(hub) { viewer in
                        #expect(try await viewer.login("vic", "viewer password 1").status == 303)
                        let queue = try await viewer.get("/desk/reports?status=all")
                        #expect(queue.status == 200)
                        #expect(!queue.body.contains("<form class=\"verify\""))
                        let csrf = try #require(DeskBrowser.csrf(in: queue))
                        #expect(try await viewer.post("/desk/reports/\(id)/verify", [("csrf", csrf)]).status == 403)
                        #expect(try await viewer.get("/desk/riders").status == 403)
                        #expect(try await viewer.get("/desk/notices").status == 200)
                    }
                }
            }
        }
    }
}
