import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import WaystationLink

/// Why a hub call failed, in the terms the uplink acts on.
public enum HubClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No answer: DNS, connect, timeout, connection lost. Retry later; keep everything queued.
    case unreachable(String)
    /// The TLS handshake failed: the hub's certificate is not signed by the configured CA (or the
    /// name does not match). Retrying will not help until the config changes.
    case untrusted(String)
    /// 401: the token is unknown or the station was revoked (`code` says which). Stop syncing.
    case revoked(code: String, message: String)
    /// 403: the token belongs to another station.
    case forbidden(String)
    /// 429: too many look-ups this hour; retry later.
    case rateLimited(String)
    /// 409 `insufficient` from redeem: the rider's balance now.
    case insufficient(balance: Int)
    /// Any other refusal (400, 404, 409, 5xx): HTTP status, the hub's error code and message.
    case refused(status: Int, code: String, message: String)
    /// The answer was not the JSON expected.
    case invalidResponse(String)
    /// The client's own settings (URL, token, CA file).
    case configuration(String)

    public var description: String {
        switch self {
        case .unreachable(let m): "the hub is unreachable: \(m)"
        case .untrusted(let m): "the hub's certificate is not trusted: \(m)"
        case .revoked(let code, let m): "the hub refused the station's credential (\(code)): \(m)"
        case .forbidden(let m): "forbidden: \(m)"
        case .rateLimited(let m): "rate limited: \(m)"
        case .insufficient(let balance): "not enough points (balance \(balance))"
        case .refused(let status, let code, let m): "the hub refused (\(status) \(code)): \(m)"
        case .invalidResponse(let m): "the hub's answer is not understood: \(m)"
        case .configuration(let m): m
        }
    }

    /// True when retrying later may succeed (the uplink keeps its queue).
    public var isTransient: Bool {
        switch self {
        case .unreachable, .rateLimited: true
        case .refused(let status, _, _): status >= 500
        default: false
        }
    }
}

extension HubClient {
    func call<In: Encodable, Out: Decodable>(_ method: HTTPMethod, _ endpoint: String, _ body: In?)
        async throws(HubClientError) -> Out
    {
        var request = HTTPClientRequest(url: baseURL + LinkPath.station(station, endpoint))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            let data: Data
            do {
                data = try JSONEncoder().encode(body)
            } catch {
                throw HubClientError.configuration("cannot encode the request: \(error)")
            }
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
        } catch let error as NIOSSLError {
            throw HubClientError.untrusted("\(error)")
        } catch let error as BoringSSLError {
            throw HubClientError.untrusted("\(error)")
        } catch {
            if "\(error)".contains("handshake") || "\(error)".contains("certificate") {
                throw HubClientError.untrusted("\(error)")
            }
            throw HubClientError.unreachable("\(error)")
        }
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(status) else {
            let body = try? JSONDecoder().decode(LinkErrorBody.self, from: data)
            let code = body?.error ?? "http_\(status)"
            let message = body?.message ?? "HTTP \(status)"
            switch status {
            case 401: throw HubClientError.revoked(code: code, message: message)
            case 403: throw HubClientError.forbidden(message)
            case 429: throw HubClientError.rateLimited(message)
            case 409 where code == "insufficient": throw HubClientError.insufficient(balance: body?.balance ?? 0)
            default: throw HubClientError.refused(status: status, code: code, message: message)
            }
        }
        do {
            return try JSONDecoder().decode(Out.self, from: data)
        } catch {
            throw HubClientError.invalidResponse("\(error)")
        }
    }
}
