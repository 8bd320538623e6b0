/// An alert rule's condition: comparisons of point values joined by `and` / `or`, `not`,
/// parentheses, and the device states `offline` and `degraded`. A bare bool point means "is true".
///
///     cabinet_temp > 8
///     on == 1 and room_temp > 32
///     door_open
///     offline
public indirect enum AlertCondition: Sendable, Hashable, CustomStringConvertible {
    public enum Op: String, Sendable, Hashable, CaseIterable {
        case gt = ">", ge = ">=", lt = "<", le = "<=", eq = "==", ne = "!="
    }

    public enum Operand: Sendable, Hashable {
        case point(String)
        case number(Double)
    }

    case compare(Operand, Op, Operand)
    /// A bool point that is true.
    case isTrue(String)
    case offline
    case degraded
    case not(AlertCondition)
    case and(AlertCondition, AlertCondition)
    case or(AlertCondition, AlertCondition)

    /// Point names the condition reads.
    public var points: [String] {
        switch self {
        case .compare(let a, _, let b):
            return [a, b].compactMap { if case .point(let p) = $0 { return p } else { return nil } }
        case .isTrue(let p): return [p]
        case .offline, .degraded: return []
        case .not(let c): return c.points
        case .and(let a, let b), .or(let a, let b): return a.points + b.points
        }
    }

    public var description: String {
        func operand(_ o: Operand) -> String {
            switch o {
            case .point(let p): p
            case .number(let n): ValueText.format(n)
            }
        }
        switch self {
        case .compare(let a, let op, let b): return "\(operand(a)) \(op.rawValue) \(operand(b))"
        case .isTrue(let p): return p
        case .offline: return "offline"
        case .degraded: return "degraded"
        case .not(let c): return "not (\(c))"
        case .and(let a, let b): return "(\(a) and \(b))"
        case .or(let a, let b): return "(\(a) or \(b))"
        }
    }

    /// Evaluates with the device's values (nil: no good value) and state. A comparison on a point
    /// with no value is false: a missing reading is the offline rule's business.
    public func evaluate(values: (String) -> Double?, state: DeviceState) -> Bool {
        switch self {
        case .compare(let a, let op, let b):
            func value(_ o: Operand) -> Double? {
                switch o {
                case .point(let p): values(p)
                case .number(let n): n
                }
            }
            guard let x = value(a), let y = value(b) else { return false }
            switch op {
            case .gt: return x > y
            case .ge: return x >= y
            case .lt: return x < y
            case .le: return x <= y
            case .eq: return x == y
            case .ne: return x != y
            }
        case .isTrue(let p): return (values(p) ?? 0) != 0
        case .offline: return state == .offline
        case .degraded: return state == .degraded
        case .not(let c): return !c.evaluate(values: values, state: state)
        case .and(let a, let b):
            return a.evaluate(values: values, state: state) && b.evaluate(values: values, state: state)
        case .or(let a, let b):
            return a.evaluate(values: values, state: state) || b.evaluate(values: values, state: state)
        }
    }

    /// Parses a condition; the error says what was expected where.
    public static func parse(_ text: String) throws(ParseError) -> AlertCondition {
        var parser = Parser(tokens: try tokenize(text), text: text)
        let condition = try parser.expression()
        guard parser.position == parser.tokens.count else {
            throw ParseError("unexpected \"\(parser.tokens[parser.position])\" after \"\(condition)\"")
        }
        return condition
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    static func tokenize(_ text: String) throws(ParseError) -> [String] {
        var tokens: [String] = []
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c.isWhitespace {
                i = text.index(after: i)
            } else if "()".contains(c) {
                tokens.append(String(c))
                i = text.index(after: i)
            } else if "<>=!".contains(c) {
                var op = String(c)
                let next = text.index(after: i)
                if next < text.endIndex, text[next] == "=" {
                    op.append("=")
                    i = text.index(after: next)
                } else {
                    i = next
                }
                guard Op(rawValue: op) != nil else {
                    throw ParseError("unknown operator \"\(op)\"; use > >= < <= == !=")
                }
                tokens.append(op)
            } else if c.isLetter || c.isNumber || c == "_" || c == "." || c == "-" {
                var word = ""
                while i < text.endIndex,
                    text[i].isLetter || text[i].isNumber || text[i] == "_" || text[i] == "." || text[i] == "-"
                {
                    word.append(text[i])
                    i = text.index(after: i)
                }
                tokens.append(word)
            } else {
                throw ParseError("unexpected character \"\(c)\"")
            }
        }
        guard !tokens.isEmpty else { throw ParseError("empty condition") }
        return tokens
    }

    struct Parser {
        let tokens: [String]
        let text: String
        var position = 0

        var peek: String? { position < tokens.count ? tokens[position] : nil }

        mutating func next() -> String? {
            defer { position += 1 }
            return peek
        }

        mutating func expression() throws(ParseError) -> AlertCondition {
            var left = try term()
            while peek == "or" {
                position += 1
                left = .or(left, try term())
            }
            return left
        }

        mutating func term() throws(ParseError) -> AlertCondition {
            var left = try factor()
            while peek == "and" {
                position += 1
                left = .and(left, try factor())
            }
            return left
        }

        mutating func factor() throws(ParseError) -> AlertCondition {
            guard let token = next() else { throw ParseError("condition ends too early in \"\(text)\"") }
            switch token {
            case "(":
                let inner = try expression()
                guard next() == ")" else { throw ParseError("missing \")\" in \"\(text)\"") }
                return inner
            case "not": return .not(try factor())
            case "offline": return .offline
            case "degraded": return .degraded
            case "and", "or", ")":
                throw ParseError("expected a comparison, got \"\(token)\" in \"\(text)\"")
            default:
                let left = operand(token)
                if let op = peek.flatMap(Op.init(rawValue:)) {
                    position += 1
                    guard let rightToken = next() else { throw ParseError("missing value after \"\(op.rawValue)\"") }
                    return .compare(left, op, operand(rightToken))
                }
                guard case .point(let p) = left else {
                    throw ParseError("a number alone is not a condition: \"\(token)\"")
                }
                return .isTrue(p)
            }
        }

        func operand(_ token: String) -> Operand {
            if token == "true" { return .number(1) }
            if token == "false" { return .number(0) }
            if let n = Double(token) { return .number(n) }
            return .point(token)
        }
    }
}

/// An alert rule from a profile (defaults for a kind) or the station config.
public struct AlertRuleSpec: Sendable, Hashable {
    public var name: String
    /// Applies to this device only; else to every device of `kind`; else to every device.
    public var device: String?
    public var kind: Profile.Kind?
    public var when: AlertCondition
    public var forDuration: Duration
    /// Keeps firing this long after the condition clears (against flapping).
    public var keepFiringFor: Duration
    public var severity: Severity
    public var labels: [String: String]
    public var summary: String?

    public init(
        name: String, device: String? = nil, kind: Profile.Kind? = nil, when: AlertCondition,
        forDuration: Duration = .zero,
        keepFiringFor: Duration = .zero, severity: Severity = .warning, labels: [String: String] = [:],
        summary: String? = nil
    ) {
        self.name = name
        self.device = device
        self.kind = kind
        self.when = when
        self.forDuration = forDuration
        self.keepFiringFor = keepFiringFor
        self.severity = severity
        self.labels = labels
        self.summary = summary
    }
}
