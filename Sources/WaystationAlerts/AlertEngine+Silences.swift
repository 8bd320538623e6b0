#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// Which alerts a silence can match: the label sets of every rule, slot interlock and station alert
/// this config can raise, and of the alerts there are.
extension AlertEngine {
    public var possibleLabelSets: [[String: String]] {
        var sets = compiled.values.flatMap { $0.map(\.labels) }
        for slot in config.slots {
            for kind in InterlockLogic.Kind.allCases { sets.append(slotLabels(slot, kind)) }
        }
        for name in ["StorageFailing", "StorageRecovered"] {
            var l = ["alertname": name, "device": "station", "station": config.station.id]
            if let district = config.station.district { l["district"] = district }
            for s in ["critical", "warning"] {
                l["severity"] = s
                sets.append(l)
            }
        }
        sets += alerts.values.map(\.labels)
        return sets
    }

    /// Why matchers would silence nothing (each unknown label or value with the names that would
    /// match), or nil when some alert matches them all.
    public func silenceMismatch(_ matchers: [String: String]) -> String? {
        let sets = possibleLabelSets
        if sets.contains(where: { s in matchers.allSatisfy { s[$0.key] == $0.value } }) { return nil }
        var known: [String: Set<String>] = [:]
        for s in sets { for (k, v) in s { known[k, default: []].insert(v) } }
        var problems: [String] = []
        for (label, value) in matchers.sorted(by: { $0.key < $1.key }) {
            guard let values = known[label] else {
                problems.append(
                    "no alert has the label \"\(label)\"; labels: \(known.keys.sorted().joined(separator: ", "))")
                continue
            }
            if !values.contains(value) {
                problems.append(
                    "no alert has \(label)=\(value); \(label) is one of: \(values.sorted().joined(separator: ", "))")
            }
        }
        if problems.isEmpty {
            let names = Set(
                sets.filter { s in
                    matchers.contains { s[$0.key] == $0.value }
                }.compactMap { $0["alertname"] })
            problems.append(
                "no one alert has all of "
                    + matchers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                    + "; alerts matching some: \(names.sorted().joined(separator: ", "))")
        }
        return problems.joined(separator: "; ")
    }

}
