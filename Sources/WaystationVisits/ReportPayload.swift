#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The body a report target (a webhook) receives when a report is filed and when it is judged.
public enum ReportPayload {
    struct Body: Encodable {
        var kind = "hazard_report"
        /// submitted, verified, rejected
        var event: String
        var station: String
        var stationName: String
        var district: String?
        var report: Report

        enum CodingKeys: String, CodingKey {
            case kind, event, station, district, report
            case stationName = "station_name"
        }
    }

    struct Report: Encodable {
        var id: Int64
        /// The rider's pseudonym (a keyed hash), never the id.
        var reporter: String
        var category: String
        var categoryName: String?
        var location: String
        var note: String?
        var createdAt: String
        var status: String
        var points: Int
        var judgedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, reporter, category, location, note, status, points
            case categoryName = "category_name"
            case createdAt = "created_at"
            case judgedAt = "judged_at"
        }
    }

    public static func build(
        _ r: HazardReportRecord, event: String, station: StationConfig.Station, hazard: StationConfig.Hazard?
    ) -> String {
        let body = Body(
            event: event, station: station.id, stationName: station.name, district: station.district,
            report: Report(
                id: r.id ?? 0, reporter: r.reporter, category: r.category, categoryName: hazard?.nameEn ?? hazard?.name,
                location: r.location, note: r.note, createdAt: r.createdDate.formatted(.iso8601),
                status: r.status.rawValue, points: r.points, judgedAt: r.judgedDate?.formatted(.iso8601)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
