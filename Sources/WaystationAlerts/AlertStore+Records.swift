#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationStorage

/// How the alerts domain's records map to their rows.
extension AlertStore {
    /// Labels and matchers are stored as JSON objects (sorted keys).
    static func json(_ map: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(map), as: UTF8.self)
    }

    static func map(_ row: Row, _ column: String) throws -> [String: String] {
        let text: String = try row[column]
        do {
            return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        } catch {
            throw DatabaseError(
                resultCode: .SQLITE_MISMATCH, message: "column \(column) is not a JSON object of strings: \(error)",
                sql: row.sql)
        }
    }
}

extension AlertStore.AlertRecord: FetchableRecord, PersistableRecord {
    static let databaseTableName = "alert"
    static var databasePrimaryKey: String { "fingerprint" }

    init(row: Row) throws {
        fingerprint = try row["fingerprint"]
        rule = try row["rule"]
        device = try row["device"]
        labels = try AlertStore.map(row, "labels")
        severity = try row["severity"]
        state = try row["state"]
        activeSince = try row["active_since"]
        firedAt = try row["fired_at"]
        resolvedAt = try row["resolved_at"]
        lastTrue = try row["last_true"]
        lastNotified = try row["last_notified"]
        value = try row["value"]
        summary = try row["summary"]
        ackBy = try row["ack_by"]
        ackNote = try row["ack_note"]
        ackAt = try row["ack_at"]
        escalated = try row["escalated"]
        updated = try row["updated"]
    }

    func databaseColumns() throws -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
        [
            "fingerprint": fingerprint, "rule": rule, "device": device, "labels": try AlertStore.json(labels),
            "severity": severity, "state": state, "active_since": activeSince, "fired_at": firedAt,
            "resolved_at": resolvedAt, "last_true": lastTrue, "last_notified": lastNotified, "value": value,
            "summary": summary, "ack_by": ackBy, "ack_note": ackNote, "ack_at": ackAt, "escalated": escalated,
            "updated": updated,
        ]
    }
}

extension AlertStore.SilenceRecord: FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "silence"

    init(row: Row) throws {
        id = try row["id"]
        matchers = try AlertStore.map(row, "matchers")
        until = try row["until"]
        by = try row["by"]
        comment = try row["comment"]
    }

    func databaseColumns() throws -> KeyValuePairs<String, (any DatabaseValueConvertible)?> {
        ["id": id, "matchers": try AlertStore.json(matchers), "until": until, "by": by, "comment": comment]
    }
}
