import Foundation
import Hummingbird
import Logging
import PostgresNIO
import WaystationLink

/// Open311 GeoReport v2, read side, no credential: the district's categories as services and its
/// reports as service requests (location and note; never a rider or pseudonym).
struct Open311Routes: Sendable {
    let store: HubStore
    let agency: String
    let logger: Logger

    struct Service: Encodable {
        var service_code: String
        var service_name: String
        var description: String
        var metadata = false
        var type = "realtime"
        var keywords = ""
        var group = "hazards"
    }

    struct ServiceRequest: Encodable {
        var service_request_id: String
        var status: String
        var status_notes: String?
        var service_name: String?
        var service_code: String
        var description: String?
        var agency_responsible: String
        var service_notice: String?
        var requested_datetime: String
        var updated_datetime: String
        var expected_datetime: String?
        var address: String
        var address_id: String?
        var zipcode: String?
        var lat: Double?
        var long: Double?
        var media_url: String?
    }

    struct Open311Error: Encodable {
        var code: Int
        var description: String
    }

    func add(to router: Router<HubContext>) {
        let group = router.group("open311/v2")
        group.get("services.json") { _, _ in
            await HubHTTP.guarded(logger) {
                let services = try await store.categories(activeOnly: true).map {
                    Service(service_code: $0.id, service_name: $0.name, description: "\($0.name) / \($0.nameZh)")
                }
                return try HubHTTP.json(services)
            }
        }
        group.get("requests.json") { request, _ in
            await requests(request.uri.queryParameters, id: nil)
        }
        group.get("requests/:file") { _, context in
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(".json"), let id = Int(file.dropLast(5)), id > 0 else {
                return fail(.notFound, "no such service request")
            }
            return await requests([:], id: id)
        }
    }

    func fail(_ status: HTTPResponse.Status, _ text: String) -> Response {
        (try? HubHTTP.json([Open311Error(code: Int(status.code), description: text)], status))
            ?? Response(status: status)
    }

    func requests(_ query: Parameters, id: Int?) async -> Response {
        var status: [String]? = nil
        if let s = query.get("status") {
            switch s {
            case "open": status = ["pending"]
            case "closed": status = ["verified", "rejected"]
            default: return fail(.badRequest, "status must be open or closed")
            }
        }
        let start = query.get("start_date")
        let end = query.get("end_date")
        for (name, value) in [("start_date", start), ("end_date", end)] {
            if let value {
                do { try Validate.time(value, name) } catch { return fail(.badRequest, error.description) }
            }
        }
        let code = query.get("service_code")
        return await HubHTTP.guarded(logger) {
            let found = try await store.open311(id: id, status: status, start: start, end: end, service: code)
            if id != nil, found.isEmpty { return fail(.notFound, "no such service request") }
            return try HubHTTP.json(
                found.map { row in
                    ServiceRequest(
                        service_request_id: String(row.id), status: row.status == "pending" ? "open" : "closed",
                        status_notes: row.verdictNote ?? (row.status == "pending" ? nil : row.status),
                        service_name: row.serviceName, service_code: row.category, description: row.note,
                        agency_responsible: agency, requested_datetime: row.created, updated_datetime: row.updated,
                        address: row.location)
                })
        }
    }
}

extension HubStore {
    struct Open311Row: Sendable {
        var id: Int
        var status: String
        var verdictNote: String?
        var serviceName: String?
        var category: String
        var note: String?
        var created: String
        var updated: String
        var location: String
    }

    /// Reports for Open311: by id, or filtered (without dates: the last 90 days), newest first, ≤ 1,000.
    func open311(id: Int?, status: [String]?, start: String?, end: String?, service: String?) async throws
        -> [Open311Row]
    {
        let defaultWindow = id == nil && start == nil && end == nil
        let rows = try await client.query(
            """
            SELECT r.id, r.status, r.verdict_note, c.name, r.category, r.note, rfc3339(r.created),
              rfc3339(coalesce(r.judged, r.received)), r.location
            FROM reports r LEFT JOIN categories c ON c.id = r.category
            WHERE (\(id)::bigint IS NULL OR r.id = \(id))
              AND (\(status)::text[] IS NULL OR r.status = ANY(\(status)))
              AND (\(start)::timestamptz IS NULL OR r.created >= \(start)::timestamptz)
              AND (\(end)::timestamptz IS NULL OR r.created <= \(end)::timestamptz)
              AND (\(service)::text IS NULL OR r.category = \(service))
              AND (NOT \(defaultWindow) OR r.created >= now() - interval '90 days')
            ORDER BY r.created DESC, r.id DESC LIMIT 1000
            """, logger: logger)
        var out: [Open311Row] = []
        for try await (id, status, note, name, category, text, created, updated, location) in rows.decode(
            (Int, String, String?, String?, String, String?, String, String, String).self)
        {
            out.append(
                Open311Row(
                    id: id, status: status, verdictNote: note, serviceName: name, category: category, note: text,
                    created: created, updated: updated, location: location))
        }
        return out
    }
}
