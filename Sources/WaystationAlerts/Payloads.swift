import Foundation
import WaystationCore

/// Request bodies for each kind of `[[notify]]` target.
enum Payloads {
    static func iso(_ d: Date) -> String { d.formatted(.iso8601) }

    /// One alert as Alertmanager's API and webhook payloads carry it.
    static func alert(_ a: AlertInstance, status: AlertInstance.State, station: StationConfig.Station) -> JSON {
        [
            "status": .string(status == .resolved ? "resolved" : "firing"),
            "labels": .object(a.labels.mapValues(JSON.string)),
            "annotations": [
                "summary": .string(a.summary), "station_name": .string(station.name),
                "value": .string(a.value.map(PointValue.format) ?? ""),
            ],
            "startsAt": .string(iso(a.firedAt ?? a.activeSince ?? Date())),
            "endsAt": .string(status == .resolved ? iso(a.resolvedAt ?? Date()) : "0001-01-01T00:00:00Z"),
            "generatorURL": .string("waystation://\(station.id)/alerts/\(a.fingerprint)"),
            "fingerprint": .string(a.fingerprint),
        ]
    }

    static func build(
        target: StationConfig.Notify, alert a: AlertInstance, status: AlertInstance.State,
        station: StationConfig.Station,
        at now: Date
    ) -> String {
        let one = alert(a, status: status, station: station)
        switch target.kind {
        case "alertmanager":
            // POST /api/v2/alerts takes an array of postable alerts (no status field).
            var postable = one.object ?? [:]
            postable["status"] = nil
            postable["fingerprint"] = nil
            if status != .resolved { postable["endsAt"] = nil }
            return JSON.array([.object(postable)]).text
        case "webhook":
            // Alertmanager's webhook payload, version 4.
            let common = a.labels.mapValues(JSON.string)
            let body: JSON = [
                "version": "4", "groupKey": .string("{}:{alertname=\"\(a.rule)\",device=\"\(a.device)\"}"),
                "truncatedAlerts": 0, "status": .string(status == .resolved ? "resolved" : "firing"),
                "receiver": .string(target.name),
                "groupLabels": ["alertname": .string(a.rule), "device": .string(a.device)],
                "commonLabels": .object(common), "commonAnnotations": ["summary": .string(a.summary)],
                "externalURL": .string("waystation://\(station.id)"), "alerts": [one],
            ]
            return body.text
        default:
            return one.text
        }
    }
}
