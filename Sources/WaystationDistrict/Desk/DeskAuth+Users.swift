import Foundation
import Hummingbird

/// The admins' pages: staff accounts (`/desk/users`) and the audit log (`/desk/audit`).
enum DeskUsersPages {
    static func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {
        desk.get("users") { request, context in
            await env.handle(request, context, role: .admin) { d in try await usersPage(d) }
        }
        desk.post("users") { request, context in
            await env.handle(request, context, role: .admin) { d in
                let form = try await DeskForm.read(request, context)
                let name = try form.required("name", d.t("用户名", "name")).lowercased()
                guard let role = DeskRole(rawValue: form["role"] ?? "") else {
                    throw DeskError.badRequest(
                        d.t("角色必须是 viewer、desk 或 admin。", "The role must be viewer, desk or admin."))
                }
                try HubStore.checkStaffName(name)
                let hash = try await StaffPassword.hash(form.fields["password"]?.first ?? "")
                try await env.store.addStaff(name: name, role: role, passwordHash: hash)
                try await d.audit("user.add", target: name, detail: role.rawValue)
                return d.redirect("/desk/users?done=added")
            }
        }
        desk.post("users/:name/disable") { request, context in
            await env.handle(request, context, role: .admin) { d in
                let name = context.parameters.get("name") ?? ""
                guard name != d.session.staff else {
                    throw DeskError.badRequest(d.t("不能停用自己的账号。", "You cannot disable your own account."))
                }
                guard try await env.store.disableStaff(name) else {
                    throw DeskError.notFound(d.t("没有这个账号。", "No such account."))
                }
                try await d.audit("user.disable", target: name)
                return d.redirect("/desk/users?done=disabled")
            }
        }
        desk.get("audit") { request, context in
            await env.handle(request, context, role: .admin) { d in try await auditPage(d) }
        }
    }

    static func flash(_ d: DeskRequest) -> String? {
        switch d.query["done"] {
        case "added": d.t("账号已添加。", "Account added.")
        case "disabled": d.t("账号已停用，其会话已结束。", "Account disabled; its sessions have ended.")
        default: nil
        }
    }

    static func roleName(_ d: DeskRequest, _ role: DeskRole) -> String {
        switch role {
        case .viewer: d.t("查看（viewer）", "viewer")
        case .desk: d.t("值班（desk）", "desk")
        case .admin: d.t("管理员（admin）", "admin")
        }
    }

    /// An RFC 3339 time as `YYYY-MM-DD HH:MM` in the district's zone (as given when it does not parse).
    static func local(_ rfc3339: String, _ d: DeskRequest) -> String {
        guard let date = ISO8601DateFormatter().date(from: rfc3339) else { return rfc3339 }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: d.env.config.timeZone)
        format.dateFormat = "yyyy-MM-dd HH:mm"
        return format.string(from: date)
    }

    static func usersPage(_ d: DeskRequest) async throws -> Response {
        let staff = try await d.env.store.staffList()
        let rows = staff.map { m -> HTML in
            let state: HTML
            let action: HTML
            if let disabled = m.disabled {
                state = "\(d.t("已停用", "disabled")) \(local(disabled, d))"
                action = ""
            } else {
                state = "\(d.t("有效", "active"))"
                action =
                    m.name == d.session.staff
                    ? "<span class=\"dim\">\(d.t("（本人）", "(you)"))</span>"
                    : """
                    <form class="disable" method="post" action="/desk/users/\(m.name)/disable">\(d.csrfField)\
                    <button type="submit" class="danger">\(d.t("停用", "Disable"))</button></form>
                    """
            }
            let rowClass: HTML = m.disabled == nil ? "" : " class=\"muted\""
            return """
                <tr data-user="\(m.name)"\(rowClass)><td class="name">\(m.name)</td><td class="role">\(roleName(d, m.role))</td>\
                <td class="created">\(local(m.created, d))</td><td class="state">\(state)</td><td>\(action)</td></tr>
                """
        }
        let options = DeskRole.allCases.map { r -> HTML in
            "<option value=\"\(r.rawValue)\"\(r == .viewer ? HTML(raw: " selected") : "")>\(roleName(d, r))</option>"
        }
        let empty: HTML =
            staff.isEmpty ? "<tr><td colspan=\"5\">\(d.t("还没有账号。", "No accounts yet."))</td></tr>" : ""
        let body: HTML = """
            <h1>\(d.t("账号", "Users"))</h1>
            <section><div class="scroll"><table id="users"><thead><tr><th>\(d.t("用户名", "Name"))</th>\
            <th>\(d.t("角色", "Role"))</th><th>\(d.t("创建时间", "Created"))</th><th>\(d.t("状态", "State"))</th><th></th></tr></thead>
            <tbody>\(rows)\(empty)</tbody></table></div></section>
            <section><h2>\(d.t("新账号", "New account"))</h2>
            <form id="user-new" method="post" action="/desk/users">\(d.csrfField)
            <label>\(d.t("用户名", "Name")) <input name="name" required maxlength="64" pattern="[a-z0-9._\\-]{1,64}" autocomplete="off" autocapitalize="none" spellcheck="false"></label>
            <label>\(d.t("角色", "Role")) <select name="role">\(options)</select></label>
            <label>\(d.t("密码（至少 10 个字符）", "Password (at least 10 characters)")) <input type="password" name="password" required minlength="10" autocomplete="new-password"></label>
            <button type="submit">\(d.t("添加", "Add"))</button></form>
            <p class="hint">\(d.t("viewer 只能查看；desk 还能审核上报、查询骑手、发布通知和静默告警；admin 还能管理账号、查看审计日志。",
            "viewer sees; desk also judges reports, looks up riders, publishes notices and silences alerts; admin also manages accounts and reads the audit log."))</p></section>
            """
        return DeskLayout.page(d, title: d.t("账号", "Users"), active: "users", flash: flash(d), body: body)
    }

    static let auditPageSize = 200

    static func auditPage(_ d: DeskRequest) async throws -> Response {
        let before = d.query["before"].flatMap { Int($0) }
        let entries = try await d.env.store.auditLog(
            before: before, limit: auditPageSize, timeZone: d.env.config.timeZone)
        let rows = entries.map { e -> HTML in
            """
            <tr data-audit="\(e.id)"><td class="at">\(e.at)</td><td class="staff">\(e.staff)</td>\
            <td class="address">\(e.address)</td><td class="action">\(e.action)</td>\
            <td class="target">\(e.target)</td><td class="detail">\(e.detail)</td></tr>
            """
        }
        let empty: HTML =
            entries.isEmpty ? "<tr><td colspan=\"6\">\(d.t("没有记录。", "Nothing recorded."))</td></tr>" : ""
        var pager: [HTML] = []
        if before != nil { pager.append("<a href=\"/desk/audit\">\(d.t("最新", "Newest"))</a>") }
        if entries.count == auditPageSize, let last = entries.last {
            pager.append("<a id=\"audit-older\" href=\"/desk/audit?before=\(last.id)\">\(d.t("更早", "Older"))</a>")
        }
        let body: HTML = """
            <h1>\(d.t("审计日志", "Audit log"))</h1>
            <p class="hint">\(d.t("最新的在前，每页 \(auditPageSize) 条；时区 \(d.env.config.timeZone)。",
            "Newest first, \(auditPageSize) per page; times in \(d.env.config.timeZone)."))</p>
            <section><div class="scroll"><table id="audit"><thead><tr><th>\(d.t("时间", "At"))</th>\
            <th>\(d.t("人员", "Staff"))</th><th>\(d.t("地址", "Address"))</th><th>\(d.t("动作", "Action"))</th>\
            <th>\(d.t("对象", "Target"))</th><th>\(d.t("说明", "Detail"))</th></tr></thead>
            <tbody>\(rows)\(empty)</tbody></table></div></section>
            <p class="pager">\(HTML.join(pager, " "))</p>
            """
        return DeskLayout.page(d, title: d.t("审计日志", "Audit log"), active: "audit", body: body)
    }
}
