import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix
import PostgresNIO

/// A desk account as `users list` and the users page show it.
public struct StaffMember: Sendable, Equatable {
    public var name: String
    public var role: DeskRole
    /// When it was made, RFC 3339 UTC.
    public var created: String
    /// When it was disabled, RFC 3339 UTC; nil while active.
    public var disabled: String?
}

/// Desk accounts' passwords: bcrypt cost 12, hashed and checked on NIO's thread pool (never on the
/// event loop or Swift's shared pool: one hash takes a quarter of a second of CPU).
public enum StaffPassword {
    public static let minCharacters = 10
    /// bcrypt reads at most 72 bytes; a longer password would be cut silently, so it is refused.
    public static let maxBytes = 72

    /// Refuses a password too short or too long, saying which.
    public static func check(_ password: String) throws(HubError) {
        guard password.count >= minCharacters else {
            throw .badRequest("the password is too short: at least \(minCharacters) characters")
        }
        guard password.utf8.count <= maxBytes else {
            throw .badRequest("the password is too long: at most \(maxBytes) bytes (UTF-8)")
        }
    }

    /// The bcrypt hash of a password that passed `check`.
    public static func hash(_ password: String) async throws -> String {
        try check(password)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 12) }
    }

    /// Whether `password` matches `hash`; with no hash (unknown name) it spends the same time on a
    /// dummy so the answer's timing does not tell which names exist.
    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        guard password.utf8.count <= maxBytes else { return false }
        return try await NIOThreadPool.singleton.runIfActive {
            guard let hash else {
                _ = Bcrypt.verify(password, hash: dummy)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

    /// Computed on the thread pool the first time an unknown name is tried.
    private static let dummy = Bcrypt.hash("no such account, no such password", cost: 12)
}

extension HubStore {
    /// Names: 1-64 of a-z 0-9 . _ - (the table's CHECK says the same), not only dots (a name
    /// goes into the users page's URLs, where `.` and `..` would be path steps).
    public static func validStaffName(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9._-]{1,64}$", options: .regularExpression) != nil && name.contains { $0 != "." }
    }

    static func checkStaffName(_ name: String) throws(HubError) {
        guard validStaffName(name) else {
            throw .badRequest("the name \"\(name.prefix(80))\" is not 1-64 of a-z 0-9 . _ - (not only dots)")
        }
    }

    /// Adds an account; refuses a name already taken (disabled ones too: names are never reused).
    public func addStaff(name: String, role: DeskRole, passwordHash: String) async throws {
        try Self.checkStaffName(name)
        do {
            try await client.query(
                "INSERT INTO staff (name, role, password_hash) VALUES (\(name), \(role.rawValue), \(passwordHash))",
                logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw HubError.conflict("the account \(name) already exists")
        }
    }

    /// Disables an account and ends its sessions at once; false when there is no such account.
    public func disableStaff(_ name: String) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE staff SET disabled = coalesce(disabled, now()) WHERE name = \(name) RETURNING name",
                logger: self.logger)
            var found = false
            for try await _ in rows { found = true }
            try await connection.query("DELETE FROM desk_sessions WHERE staff = \(name)", logger: self.logger)
            return found
        }
    }

    /// Sets an account's password hash and ends its sessions (a changed password signs everyone
    /// out); false when there is no such account.
    public func setStaffPassword(_ name: String, passwordHash: String) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE staff SET password_hash = \(passwordHash) WHERE name = \(name) RETURNING name",
                logger: self.logger)
            var found = false
            for try await _ in rows { found = true }
            try await connection.query("DELETE FROM desk_sessions WHERE staff = \(name)", logger: self.logger)
            return found
        }
    }

    /// One account and its password hash; nil when there is no such account.
    public func staff(_ name: String) async throws -> (member: StaffMember, passwordHash: String)? {
        let rows = try await client.query(
            """
            SELECT name, role, rfc3339(created), rfc3339(disabled), password_hash FROM staff WHERE name = \(name)
            """, logger: logger)
        for try await (name, role, created, disabled, hash) in rows.decode(
            (String, String, String, String?, String).self)
        {
            let member = StaffMember(
                name: name, role: DeskRole(rawValue: role) ?? .viewer, created: created, disabled: disabled)
            return (member, hash)
        }
        return nil
    }

    /// Every account, active ones first, then by name.
    public func staffList() async throws -> [StaffMember] {
        let rows = try await client.query(
            """
            SELECT name, role, rfc3339(created), rfc3339(disabled) FROM staff
            ORDER BY disabled IS NOT NULL, name
            """, logger: logger)
        var out: [StaffMember] = []
        for try await (name, role, created, disabled) in rows.decode((String, String, String, String?).self) {
            out.append(
                StaffMember(name: name, role: DeskRole(rawValue: role) ?? .viewer, created: created, disabled: disabled)
            )
        }
        return out
    }

    // MARK: Sessions

    static func tokenHash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// 32 random bytes, base64url without padding.
    static func randomToken() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Starts a session for an active account: the cookie's token (only its SHA-256 is stored) and
    /// the CSRF token. Expired sessions are swept on the way.
    public func createSession(staff: String, hours: Int) async throws -> (token: String, csrf: String) {
        let token = Self.randomToken()
        let csrf = Self.randomToken()
        let hash = Self.tokenHash(token)
        try await client.query("DELETE FROM desk_sessions WHERE expires < now()", logger: logger)
        try await client.query(
            """
            INSERT INTO desk_sessions (token_sha256, staff, csrf, expires)
            VALUES (\(hash), \(staff), \(csrf), now() + make_interval(hours => \(hours)::int))
            """, logger: logger)
        return (token, csrf)
    }

    /// The session a cookie's token belongs to: not expired, its account not disabled; else nil.
    public func session(token: String) async throws -> DeskSession? {
        guard !token.isEmpty, token.utf8.count <= 100 else { return nil }
        let rows = try await client.query(
            """
            SELECT s.staff, st.role, s.csrf FROM desk_sessions s JOIN staff st ON st.name = s.staff
            WHERE s.token_sha256 = \(Self.tokenHash(token)) AND s.expires > now() AND st.disabled IS NULL
            """, logger: logger)
        for try await (staff, role, csrf) in rows.decode((String, String, String).self) {
            guard let role = DeskRole(rawValue: role) else { return nil }
            return DeskSession(staff: staff, role: role, csrf: csrf)
        }
        return nil
    }

    /// Ends a session (log-out).
    public func deleteSession(token: String) async throws {
        try await client.query(
            "DELETE FROM desk_sessions WHERE token_sha256 = \(Self.tokenHash(token))", logger: logger)
    }

    // MARK: Failed log-ins

    /// Free failures in a row before each next try must wait.
    public static let freeLoginFailures = 5

    /// Seconds the next log-in try must still wait for any of `keys` (`name:NAME`, `addr:IP`); nil
    /// when it may go ahead. After 5 failures in a row each next try waits min(2^(n-5), 300) s after
    /// the last failure; a failure older than 15 minutes starts the count again.
    public func loginWait(keys: [String]) async throws -> Int? {
        let rows = try await client.query(
            """
            SELECT max(ceil(extract(epoch FROM last_failure
                     + make_interval(secs => least(power(2, failures - \(Self.freeLoginFailures)), 300)) - now())))::int
            FROM login_failures
            WHERE key = ANY(\(keys)) AND failures >= \(Self.freeLoginFailures)
              AND last_failure > now() - interval '15 minutes'
            """, logger: logger)
        for try await wait in rows.decode(Int?.self) {
            guard let wait, wait > 0 else { return nil }
            return wait
        }
        return nil
    }

    /// Counts a failed log-in against each key (and forgets counts too old to matter, so names
    /// made up by a guesser do not pile up).
    public func recordLoginFailure(keys: [String]) async throws {
        try await client.query(
            "DELETE FROM login_failures WHERE last_failure < now() - interval '1 hour'", logger: logger)
        for key in keys {
            try await client.query(
                """
                INSERT INTO login_failures (key, failures, last_failure) VALUES (\(key), 1, now())
                ON CONFLICT (key) DO UPDATE SET
                  failures = CASE WHEN login_failures.last_failure < now() - interval '15 minutes' THEN 1
                                  ELSE login_failures.failures + 1 END,
                  last_failure = now()
                """, logger: logger)
        }
    }

    /// Forgets the failures of each key (after a successful log-in).
    public func clearLoginFailures(keys: [String]) async throws {
        try await client.query("DELETE FROM login_failures WHERE key = ANY(\(keys))", logger: logger)
    }
}
