/// Reads one `[[alert]]` table (profile defaults or station rules).
enum AlertRuleReader {
    static func read(_ r: TableReader, allowTarget: Bool) -> AlertRuleSpec? {
        let name = r.string("name", required: true) ?? ""
        r.label = "[[alert]] \"\(name)\""
        var device: String?
        var kind: Profile.Kind?
        if allowTarget {
            device = r.string("device")
            kind = r.oneOf("kind", Profile.Kind.allCases.map(\.rawValue)).flatMap(Profile.Kind.init(rawValue:))
            if device != nil, kind != nil { r.report("kind", "give device or kind, not both") }
        }
        let whenText = r.string("when", required: true)
        let forDuration = r.duration("for", default: .zero) ?? .zero
        let keep = r.duration("keep_firing_for", default: .zero) ?? .zero
        let severity =
            r.oneOf("severity", Severity.allCases.map(\.rawValue), default: "warning").flatMap(Severity.init)
            ?? .warning
        let summary = r.string("summary")
        var labels: [String: String] = [:]
        if let table = r.subtable("labels") {
            for key in table.keys {
                guard let value = table[key]?.string else {
                    r.report("labels", "label \"\(key)\" must be a string")
                    continue
                }
                labels[key] = value
            }
        }
        guard let whenText else { return nil }
        do {
            let when = try AlertCondition.parse(whenText)
            return AlertRuleSpec(
                name: name, device: device, kind: kind, when: when, forDuration: forDuration, keepFiringFor: keep,
                severity: severity, labels: labels, summary: summary)
        } catch {
            r.report("when", "cannot parse \"\(whenText)\": \(error.description)")
            return nil
        }
    }
}
