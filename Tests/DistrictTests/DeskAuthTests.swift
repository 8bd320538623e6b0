import Foundation
import PostgresNIO
import Testing
import WaystationDistrict

extension DistrictSuite {
    @Suite("District desk: accounts, sessions, CSRF", .serialized)
    struct DeskAuthTests {
        static let adminPassword = "correct horse battery"
        static let viewerPassword = "viewer password 1"

        /// An admin and a viewer, made as the CLI does (bcrypt through the thread pool).
        static func staff(_ hub: TestHub) async throws {
            try await hub.store.addStaff(
                name: "ada", role: .admin, passwordHash: try await StaffPassword.hash(adminPassword))
            try await hub.store.addStaff(
                name: "vic", role: .viewer, passwordHash: try await StaffPassword.hash(viewerPassword))
        }

        /// Every desk page and API of DESK.md (sections built by other branches too).
        static let pages = [
            "/desk/", "/desk/fleet", "/desk/fleet?sort=worst&q=gate&only=problems", "/desk/stations/fl-001",
            "/desk/alerts", "/desk/reports", "/desk/reports?status=all&sort=newest", "/desk/riders", "/desk/notices",
            "/desk/services", "/desk/users", "/desk/audit",
        ]
        static let apis = ["/desk/api/stations/fl-001/series?chart=room&hours=24"]
        static let changes = [
            "/desk/logout", "/desk/users", "/desk/users/vic/disable", "/desk/alerts/silences",
            "/desk/alerts/silences/abc/expire", "/desk/reports/1/verify", "/desk/reports/1/reject",
            "/desk/reports/1/dispatch", "/desk/reports/1/fixed", "/desk/riders/lookup", "/desk/riders/redeem",
            "/desk/notices", "/desk/notices/1/withdraw", "/desk/services", "/desk/services/legal-aid/withdraw",
        ]

        @Test("without a session every desk page redirects to the log-in, every API and change is 401")
        func noSession() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                try await DeskBrowser.using(hub) { browser in
                    for stale in [nil, "not-a-session-token"] {
                        browser.token = stale
                        for path in Self.pages {
                            let page = try await browser.get(path)
                            #expect(page.status == 303, "GET \(path)")
                            let next = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                            #expect(page.location == "/desk/login?next=\(next)", "GET \(path)")
                        }
                        for path in Self.apis {
                            #expect(try await browser.get(path).status == 401, "GET \(path)")
                        }
                        for path in Self.changes {
                            let page = try await browser.post(path, [("csrf", "x"), ("name", "eve")])
                            #expect(page.status == 401, "POST \(path)")
                        }
                    }
                    // The log-in page and the stylesheet need no session; the page carries the CSP.
                    let login = try await browser.get("/desk/login?next=%2Fdesk%2Freports")
                    #expect(login.status == 200)
                    #expect(login.body.contains("<form id=\"login\""))
                    #expect(login.body.contains("name=\"next\" value=\"/desk/reports\""))
                    #expect(login.header("content-security-policy")?.contains("script-src 'self'") == true)
                    #expect(login.header("x-content-type-options") == "nosniff")
                    let css = try await browser.get("/desk/static/desk.css")
                    #expect(css.status == 200)
                    #expect(css.body.contains("table"))
                }
                #expect(try await hub.store.staffList().allSatisfy { $0.disabled == nil })
            }
        }

        @Test("log-in sets a strict cookie, goes to next (only a desk path), pages carry the CSP; log-out ends it")
        func loginAndLogout() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                try await DeskBrowser.using(hub) { browser in
                    let wrong = try await browser.login("ada", "not the password")
                    #expect(wrong.status == 401)
                    #expect(wrong.body.contains("<p class=\"error\""))
                    #expect(browser.token == nil)

                    let ok = try await browser.login("ada", Self.adminPassword, next: "/desk/reports?status=all")
                    #expect(ok.status == 303)
                    #expect(ok.location == "/desk/reports?status=all")
                    let cookie = try #require(ok.header("set-cookie"))
                    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/desk", "Max-Age=43200"] {
                        #expect(cookie.contains(flag), "\(cookie)")
                    }
                    let token = try #require(browser.token)
                    #expect(token.count == 43)

                    let users = try await browser.get("/desk/users")
                    #expect(users.status == 200)
                    #expect(users.header("content-security-policy")?.contains("default-src 'self'") == true)
                    #expect(users.header("cache-control") == "no-store")
                    #expect(users.body.contains("<span id=\"whoami\">ada · admin</span>"))
                    #expect(users.body.contains("<tr data-user=\"vic\""))
                    #expect(users.body.contains("<form id=\"user-new\""))
                    #expect(!users.body.contains("style="))
                    #expect(try await browser.get("/desk/").location == "/desk/fleet")

                    // Already signed in: the log-in page moves on; a foreign next goes to the front door.
                    #expect(try await browser.get("/desk/login?next=%2Fdesk%2Faudit").location == "/desk/audit")
                    #expect(try await browser.get("/desk/login?next=%2F%2Fevil.example%2F").location == "/desk/")
                    let foreign = try await DeskBrowser.using(hub) { other in
                        try await other.login("ada", Self.adminPassword, next: "https://evil.example/")
                    }
                    #expect(foreign.location == "/desk/")
                    #expect(try await browser.get("/desk/login?next=%2Fdesk%2F..%2Fopen311").location == "/desk/")
                    let crossSite = try await DeskBrowser.using(hub) { other in
                        try await other.post(
                            "/desk/login", [("name", "ada"), ("password", Self.adminPassword)],
                            headers: [("Origin", "https://evil.example")])
                    }
                    #expect(crossSite.status == 403)
                    #expect(crossSite.header("set-cookie") == nil)
                    let fetchedCrossSite = try await DeskBrowser.using(hub) { other in
                        try await other.post(
                            "/desk/login", [("name", "ada"), ("password", Self.adminPassword)],
                            headers: [("Origin", "null"), ("Sec-Fetch-Site", "cross-site")])
                    }
                    #expect(fetchedCrossSite.status == 403)
                    // What a browser sends from our own page under Referrer-Policy: no-referrer.
                    let ownPage = try await DeskBrowser.using(hub) { other in
                        try await other.post(
                            "/desk/login", [("name", "ada"), ("password", Self.adminPassword)],
                            headers: [("Origin", "null"), ("Sec-Fetch-Site", "same-origin")])
                    }
                    #expect(ownPage.status == 303)

                    let csrf = try #require(DeskBrowser.csrf(in: users))
                    let out = try await browser.post("/desk/logout", [("csrf", csrf)])
                    #expect(out.status == 303)
                    #expect(out.location == "/desk/login")
                    #expect(browser.token == nil)
                    browser.token = token
                    #expect(try await browser.get("/desk/users").status == 303)
                }
                let actions = try await hub.store.auditLog(timeZone: "UTC").map(\.action)
                #expect(actions.filter { $0 == "login" }.count == 3)
                #expect(actions.contains("logout"))
                #expect(actions.contains("login.failed"))
            }
        }

        @Test("a change without the session's CSRF token is 403 and changes nothing; with it, it is done")
        func csrf() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                try await DeskBrowser.using(hub) { browser in
                    #expect(try await browser.login("ada", Self.adminPassword).status == 303)
                    let csrf = try #require(DeskBrowser.csrf(in: try await browser.get("/desk/users")))
                    let user = [("name", "eve"), ("role", "desk"), ("password", "eve's password")]
                    for (form, headers) in [
                        (user, [(String, String)]()),
                        (user + [("csrf", "wrong")], []),
                        (user + [("csrf", "")], []),
                        (user, [("X-CSRF-Token", csrf + "x")]),
                    ] {
                        let refused = try await browser.post("/desk/users", form, headers: headers)
                        #expect(refused.status == 403)
                        #expect(refused.body.contains("missing or wrong CSRF token"))
                    }
                    let disable = try await browser.post("/desk/users/vic/disable", [])
                    #expect(disable.status == 403)
                    // Every change of every section, log-out included, is refused the same way.
                    for path in Self.changes {
                        let page = try await browser.post(path, [("csrf", csrf + "0"), ("note", "x")])
                        #expect(page.status == 403, "POST \(path)")
                    }
                    #expect(try await browser.get("/desk/users").status == 200)
                    #expect(try await hub.store.staff("eve") == nil)
                    #expect(try await hub.store.staff("vic")?.member.disabled == nil)

                    let added = try await browser.post("/desk/users", user + [("csrf", csrf)])
                    #expect(added.status == 303)
                    #expect(added.location == "/desk/users?done=added")
                    #expect(try await hub.store.staff("eve")?.member.role == .desk)
                    let viaHeader = try await browser.post(
                        "/desk/users", [("name", "fay"), ("role", "viewer"), ("password", "fay's password")],
                        headers: [("X-CSRF-Token", csrf)])
                    #expect(viaHeader.status == 303)
                    let page = try await browser.get("/desk/users?done=added")
                    #expect(page.body.contains("<p class=\"flash\""))
                    #expect(page.body.contains("<tr data-user=\"fay\""))

                    let short = try await browser.post(
                        "/desk/users", [("name", "gus"), ("role", "viewer"), ("password", "short"), ("csrf", csrf)])
                    #expect(short.status == 400)
                    #expect(short.body.contains("too short"))
                    let taken = try await browser.post(
                        "/desk/users",
                        [("name", "eve"), ("role", "viewer"), ("password", "another one!"), ("csrf", csrf)])
                    #expect(taken.status == 409)
                }
                let audit = try await hub.store.auditLog(timeZone: "UTC")
                #expect(audit.filter { $0.action == "user.add" }.map(\.target) == ["fay", "eve"])
                #expect(audit.first { $0.action == "user.add" }?.staff == "ada")
            }
        }

        @Test("ten wrong passwords: the eleventh try, with the right password, is 429 with Retry-After")
        func rateLimit() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                try await DeskBrowser.using(hub) { browser in
                    var failures = 0
                    while failures < 10 {
                        let page = try await browser.login("ada", "wrong password \(failures)")
                        if page.status == 429 {
                            // Waiting is the point; instead of sleeping, the failures are made older.
                            let wait = try #require(page.header("retry-after").flatMap { Int($0) })
                            #expect(failures >= 5 && wait >= 1 && wait <= 16)
                            try await Self.age(hub, seconds: wait)
                            continue
                        }
                        #expect(page.status == 401)
                        failures += 1
                    }
                    let right = try await browser.login("ada", Self.adminPassword)
                    #expect(right.status == 429)
                    let wait = try #require(right.header("retry-after").flatMap { Int($0) })
                    #expect(wait > 16 && wait <= 32)
                    #expect(right.body.contains("too many failed log-ins") || right.body.contains("登录失败次数过多"))
                    #expect(browser.token == nil)
                    // Another address is held back too: the name's own count is over the limit.
                    try await hub.store.db.client.query(
                        "UPDATE login_failures SET key = 'addr:192.0.2.1' WHERE key LIKE 'addr:%'")
                    #expect(try await browser.login("ada", Self.adminPassword).status == 429)
                    // Once the wait is over the right password gets in, and the count starts again.
                    try await Self.age(hub, seconds: wait)
                    #expect(try await browser.login("ada", Self.adminPassword).status == 303)
                    #expect(try await hub.store.loginWait(keys: ["name:ada"]) == nil)
                }
            }
        }

        /// Moves every recorded failure `seconds` into the past.
        static func age(_ hub: TestHub, seconds: Int) async throws {
            try await hub.store.db.client.query(
                "UPDATE login_failures SET last_failure = last_failure - make_interval(secs => \(seconds))")
        }

        @Test("a viewer may not manage users (403); a disabled account's session stops working at once")
        func rolesAndDisable() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                try await DeskBrowser.using(hub) { admin in
                    try await DeskBrowser.using(hub) { viewer in
                        #expect(try await viewer.login("vic", Self.viewerPassword).status == 303)
                        let token = try #require(viewer.token)
                        let csrf = try #require(try await hub.store.session(token: token)?.csrf)
                        let users = try await viewer.get("/desk/users")
                        #expect(users.status == 403)
                        #expect(users.body.contains("id=\"forbidden\""))
                        let refused = try await viewer.post(
                            "/desk/users",
                            [("name", "mal"), ("role", "admin"), ("password", "mal's password"), ("csrf", csrf)])
                        #expect(refused.status == 403)
                        #expect(refused.body.contains("id=\"forbidden\""))
                        #expect(try await hub.store.staff("mal") == nil)
                        #expect(try await viewer.get("/desk/audit").status == 403)
                        #expect(try await viewer.get("/desk/").location == "/desk/fleet")

                        #expect(try await admin.login("ada", Self.adminPassword).status == 303)
                        let adminCSRF = try #require(DeskBrowser.csrf(in: try await admin.get("/desk/users")))
                        // An admin does not lock themself out.
                        #expect(try await admin.post("/desk/users/ada/disable", [("csrf", adminCSRF)]).status == 400)
                        let disabled = try await admin.post("/desk/users/vic/disable", [("csrf", adminCSRF)])
                        #expect(disabled.location == "/desk/users?done=disabled")
                        #expect(try await hub.store.staff("vic")?.member.disabled != nil)

                        let after = try await viewer.get("/desk/reports")
                        #expect(after.status == 303)
                        #expect(after.location?.hasPrefix("/desk/login") == true)
                        #expect(try await viewer.post("/desk/logout", [("csrf", csrf)]).status == 401)
                        viewer.token = nil
                        let again = try await viewer.login("vic", Self.viewerPassword)
                        #expect(again.status == 401)
                        #expect(viewer.token == nil)
                        let audit = try await hub.store.auditLog(timeZone: "UTC")
                        #expect(audit.first?.action == "login.failed")
                        #expect(audit.first?.detail == "account disabled")
                        let page = try await admin.get("/desk/users")
                        #expect(!page.body.contains("action=\"/desk/users/vic/disable\""))
                    }
                }
            }
        }

        @Test("staff-visible text is escaped: a script in an audit detail or a typed name renders as text")
        func escaping() async throws {
            try await TestHub.with { hub in
                try await Self.staff(hub)
                let script = "<script>alert(1)</script>"
                let img = "<img src=x onerror=alert(1)>"
                try await hub.store.audit(
                    staff: "cli", address: "\"><b>", action: "report.verify", target: img, detail: script)
                try await DeskBrowser.using(hub) { browser in
                    let typed = try await browser.login(script, "whatever it is")
                    #expect(typed.status == 401)
                    #expect(!typed.body.contains(script))
                    #expect(typed.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))

                    #expect(try await browser.login("ada", Self.adminPassword).status == 303)
                    let audit = try await browser.get("/desk/audit")
                    #expect(audit.status == 200)
                    #expect(audit.header("content-security-policy") != nil)
                    #expect(audit.body.contains("<table id=\"audit\""))
                    #expect(!audit.body.contains(script))
                    #expect(!audit.body.contains(img))
                    #expect(!audit.body.contains("\"><b>"))
                    #expect(audit.body.contains("<td class=\"detail\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
                    #expect(audit.body.contains("<td class=\"target\">&lt;img src=x onerror=alert(1)&gt;</td>"))
                    #expect(audit.body.contains("<td class=\"action\">login</td>"))
                }
            }
        }

        @Test("users CLI: add (password on stdin, short ones refused), list, password, disable; audit by cli")
        func cli() async throws {
            try await TestHub.with { hub in
                let binary = Open311Tests.repo + "/.build/debug/waystation-district"
                let config = hub.dir + "/hub.toml"
                func users(_ args: [String], stdin: String = "") async throws -> Run.Output {
                    try await Self.run(binary, ["--config", config, "users"] + args, stdin: stdin, dir: hub.dir)
                }
                let short = try await users(["add", "ada", "--role", "admin"], stdin: "too short\n")
                #expect(short.status == 1)
                #expect(short.stderr.contains("too short: at least 10 characters"))
                let badRole = try await users(["add", "ada", "--role", "boss"], stdin: "long enough pass\n")
                #expect(badRole.status == 64)
                #expect(badRole.stderr.contains("--role must be viewer, desk or admin"))
                let badName = try await users(["add", "Ada Lovelace", "--role", "admin"], stdin: "long enough pass\n")
                #expect(badName.status == 64)
                #expect(try await hub.store.staffList().isEmpty)

                let add = try await users(["add", "ada", "--role", "admin"], stdin: "ada's long password\n")
                #expect(add.status == 0, "\(add.stderr)")
                #expect(add.stdout.contains("added ada (admin)"))
                let again = try await users(["add", "ada", "--role", "viewer"], stdin: "ada's long password\n")
                #expect(again.status == 1)
                #expect(again.stderr.contains("already exists"))
                let list = try await users(["list"])
                #expect(list.stdout.hasPrefix("ada\tadmin\t20"))
                #expect(list.stdout.hasSuffix("\t-\n"))

                try await DeskBrowser.using(hub) { browser in
                    #expect(try await browser.login("ada", "ada's long password").status == 303)
                    #expect(try await browser.get("/desk/users").status == 200)
                    let changed = try await users(["password", "ada"], stdin: "a brand new password\n")
                    #expect(changed.status == 0, "\(changed.stderr)")
                    // A new password ends the old sessions; the old password no longer works.
                    #expect(try await browser.get("/desk/users").status == 303)
                    #expect(try await browser.login("ada", "ada's long password").status == 401)
                    #expect(try await browser.login("ada", "a brand new password").status == 303)
                    let disable = try await users(["disable", "ada"])
                    #expect(disable.status == 0)
                    #expect(try await browser.get("/desk/users").status == 303)
                }
                #expect(try await users(["disable", "nobody"]).status == 1)
                let nobody = try await users(["password", "nobody"], stdin: "a long password\n")
                #expect(nobody.status == 1)
                #expect(nobody.stderr.contains("no account nobody"))
                let listed = try await users(["list"])
                #expect(!listed.stdout.hasSuffix("\t-\n"))
                let audit = try await hub.store.auditLog(timeZone: "UTC").filter { $0.staff == "cli" }
                #expect(audit.map(\.action) == ["user.disable", "user.password", "user.add"])
                #expect(audit.allSatisfy { $0.target == "ada" && $0.address == nil })
            }
        }

        /// Runs a program with `stdin` as its standard input (a file, not a pipe: see `Run`).
        static func run(_ program: String, _ args: [String], stdin: String, dir: String) async throws -> Run.Output {
            let input = dir + "/stdin-\(UUID().uuidString)"
            try stdin.write(toFile: input, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: input) }
            let out = try TempDir.make("district-users")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = args
            guard let inHandle = FileHandle(forReadingAtPath: input),
                FileManager.default.createFile(atPath: out + "/out", contents: nil),
                FileManager.default.createFile(atPath: out + "/err", contents: nil),
                let outHandle = FileHandle(forWritingAtPath: out + "/out"),
                let errHandle = FileHandle(forWritingAtPath: out + "/err")
            else { throw TestFailure("cannot set up \(program)'s files") }
            defer { for h in [inHandle, outHandle, errHandle] { try? h.close() } }
            process.standardInput = inHandle
            process.standardOutput = outHandle
            process.standardError = errHandle
            let status: Int32 = try await withCheckedThrowingContinuation { continuation in
                process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
                do { try process.run() } catch { continuation.resume(throwing: error) }
            }
            return Run.Output(
                status: status, stdout: (try? String(contentsOfFile: out + "/out", encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOfFile: out + "/err", encoding: .utf8)) ?? "")
        }
    }
}
