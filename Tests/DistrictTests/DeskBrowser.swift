import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// A plain HTTPS client of the hub's desk that keeps the `desk_session` cookie, as a browser would
/// (no redirects followed: tests look at each 303). Shut it down at the end (`DeskBrowser.using`).
final class DeskBrowser: Sendable {
    let client: HTTPClient
    let baseURL: String
    private let session = Mutex<String?>(nil)

    struct Page: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var location: String? { headers.first(name: "location") }
        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    init(hub: TestHub) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(hub.config.ca))
        let config = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        baseURL = hub.baseURL
    }

    /// Runs `body` with a fresh browser, shut down afterwards even when it throws.
    static func using<T: Sendable>(_ hub: TestHub, _ body: (DeskBrowser) async throws -> T) async throws -> T {
        let browser = try DeskBrowser(hub: hub)
        do {
            let out = try await body(browser)
            try await browser.client.shutdown()
            return out
        } catch {
            try? await browser.client.shutdown()
            throw error
        }
    }

    /// The session cookie's token (nil: not signed in).
    var token: String? {
        get { session.withLock { $0 } }
        set { session.withLock { $0 = newValue } }
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(.GET, path, body: nil, headers: headers)
    }

    func post(_ path: String, _ form: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
        let encoded = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(
            .POST, path, body: encoded,
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers)
    }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func send(_ method: HTTPMethod, _ path: String, body: String?, headers: [(String, String)]) async throws -> Page {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let token { request.headers.add(name: "Cookie", value: "desk_session=\(token)") }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
        for cookie in response.headers["set-cookie"] where cookie.hasPrefix("desk_session=") {
            let value = cookie.dropFirst("desk_session=".count).prefix { $0 != ";" }
            token = value.isEmpty ? nil : String(value)
        }
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Logs in; the answer (303 on success).
    @discardableResult
    func login(_ name: String, _ password: String, next: String = "/desk/") async throws -> Page {
        try await post("/desk/login", [("name", name), ("password", password), ("next", next)])
    }

    /// The CSRF token of a page's forms.
    static func csrf(in page: Page) -> String? {
        guard let r = page.body.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(page.body[r.upperBound...].prefix { $0 != "\"" })
    }
}
