#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// Request bodies for each kind of `[[notify]]` target, as Alertmanager defines them.
public enum Payloads {
    /// One alert as Alertmanager's webhook payload carries it.
    struct WebhookAlert: Codable, Equatable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String
        var fingerprint: String
    }

    /// One alert as `POST /api/v2/alerts` takes it (no status: `endsAt` in the past resolves it).
    struct PostableAlert: Codable, Equatable {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String?
        var generatorURL: String
    }

    /// Alertmanager's webhook payload, version 4.
    struct Webhook: Codable, Equatable {
        var version = "4"
        var groupKey: String
        var truncatedAlerts = 0
        var status: String
        var receiver: String
        var groupLabels: [String: String]
        var commonLabels: [String: String]
        var commonAnnotations: [String: String]
        var externalURL: String
        var alerts: [WebhookAlert]
    }

    static func iso(_ d: Date) -> String { d.formatted(.iso8601) }

    static func annotations(_ a: AlertInstance, station: StationConfig.Station) -> [String: String] {
        ["summary": a.summary, "station_name": station.name, "value": a.value.map(ValueText.format) ?? ""]
    }

    static func webhookAlert(_ a: AlertInstance, status: AlertState, station: StationConfig.Station) -> WebhookAlert {
        WebhookAlert(
            status: status == .resolved ? "resolved" : "firing", labels: a.labels,
            annotations: annotations(a, station: station), startsAt: iso(a.firedAt ?? a.activeSince ?? Date()),
            endsAt: status == .resolved ? iso(a.resolvedAt ?? Date()) : "0001-01-01T00:00:00Z",
            generatorURL: "waystation://\(station.id)/alerts/\(a.fingerprint)", fingerprint: a.fingerprint)
    }

    static func postable(_ a: AlertInstance, status: AlertState, station: StationConfig.Station) -> PostableAlert {
        PostableAlert(
            labels: a.labels, annotations: annotations(a, station: station),
            startsAt: iso(a.firedAt ?? a.activeSince ?? Date()),
            endsAt: status == .resolved ? iso(a.resolvedAt ?? Date()) : nil,
            generatorURL: "waystation://\(station.id)/alerts/\(a.fingerprint)")
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The body for one target about one alert entering `status` (firing or resolved).
    public static func build(
        target: StationConfig.Notify, alert a: AlertInstance, status: AlertState, station: StationConfig.Station
    ) -> String {
        switch target.kind {
        case .alertmanager:
            return encode([postable(a, status: status, station: station)])
        case .webhook:
            let body = Webhook(
                groupKey: "{}:{alertname=\"\(a.rule)\",device=\"\(a.device)\"}",
                status: status == .resolved ? "resolved" : "firing", receiver: target.name,
                groupLabels: ["alertname": a.rule, "device": a.device], commonLabels: a.labels,
                commonAnnotations: ["summary": a.summary], externalURL: "waystation://\(station.id)",
                alerts: [webhookAlert(a, status: status, station: station)])
            return encode(body)
        case .exec:
            return encode(webhookAlert(a, status: status, station: station))
        }
    }

    /// Alertmanager's periodic re-send: every alert still firing (or resolved lately) in one POST.
    public static func resend(_ alerts: [AlertInstance], station: StationConfig.Station) -> String {
        encode(alerts.map { postable($0, status: $0.state, station: station) })
    }
}
