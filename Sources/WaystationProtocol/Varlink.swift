/// One varlink call as received: `{"method": "iface.Member", "parameters": {…}, "more": true}`.
public struct VarlinkCall: Sendable {
    /// Fully qualified: `interface.Method`.
    public var method: String
    public var parameters: [String: JSON]
    public var more: Bool
    public var oneway: Bool

    public init(method: String, parameters: [String: JSON] = [:], more: Bool = false, oneway: Bool = false) {
        self.method = method
        self.parameters = parameters
        self.more = more
        self.oneway = oneway
    }

    public var interface: String {
        guard let dot = method.lastIndex(of: ".") else { return "" }
        return String(method[..<dot])
    }

    public var member: String {
        guard let dot = method.lastIndex(of: ".") else { return method }
        return String(method[method.index(after: dot)...])
    }

    /// The message on the wire (NUL-terminated).
    public var frame: [UInt8] {
        var object: [String: JSON] = ["method": .string(method), "parameters": .object(parameters)]
        if more { object["more"] = true }
        if oneway { object["oneway"] = true }
        return VarlinkFrame.encode(.object(object))
    }

    /// Parses a received message; the error is the varlink error to answer with.
    public static func parse(_ message: some Collection<UInt8>) -> Result<VarlinkCall, VarlinkError> {
        let json: JSON
        switch JSON.parseStrict(message) {
        case .success(let j): json = j
        case .failure(.duplicateKey(let key)):
            return .failure(.invalidParameter(key, reason: "duplicate key \"\(key)\" in the message"))
        case .failure(.invalid): return .failure(.invalidParameter("message", reason: "not a JSON object"))
        }
        guard case .object(let object) = json else {
            return .failure(.invalidParameter("message", reason: "not a JSON object"))
        }
        guard let method = object["method"]?.string, !method.isEmpty else {
            return .failure(.invalidParameter("method"))
        }
        var parameters: [String: JSON] = [:]
        if let p = object["parameters"], !p.isNull {
            guard case .object(let o) = p else { return .failure(.invalidParameter("parameters")) }
            parameters = o
        }
        return .success(
            VarlinkCall(
                method: method, parameters: parameters, more: object["more"]?.bool ?? false,
                oneway: object["oneway"]?.bool ?? false))
    }
}

/// A reply, or a varlink error.
public struct VarlinkReply: Sendable, Equatable {
    public var parameters: JSON
    public var error: String?
    public var continues: Bool

    public init(parameters: JSON, error: String? = nil, continues: Bool = false) {
        self.parameters = parameters
        self.error = error
        self.continues = continues
    }

    public static func ok(_ parameters: JSON = [:], continues: Bool = false) -> VarlinkReply {
        VarlinkReply(parameters: parameters, error: nil, continues: continues)
    }

    /// A typed reply.
    public static func ok(_ reply: some Encodable, continues: Bool = false) throws -> VarlinkReply {
        VarlinkReply(parameters: try JSON.from(reply), error: nil, continues: continues)
    }

    public static func error(_ error: VarlinkError) -> VarlinkReply {
        VarlinkReply(parameters: error.parameters, error: error.name)
    }

    public var json: JSON {
        var object: [String: JSON] = ["parameters": parameters]
        if let error { object["error"] = .string(error) }
        if continues { object["continues"] = true }
        return .object(object)
    }

    /// The message on the wire (NUL-terminated).
    public var frame: [UInt8] { VarlinkFrame.encode(json) }

    public init?(json: JSON) {
        guard case .object(let o) = json else { return nil }
        parameters = o["parameters"] ?? [:]
        error = o["error"]?.string
        continues = o["continues"]?.bool ?? false
    }
}

/// A varlink error: its qualified name and parameters.
public struct VarlinkError: Error, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var parameters: JSON

    public init(_ name: String, _ parameters: JSON = [:]) {
        self.name = name
        self.parameters = parameters
    }

    public var description: String { "\(name) \(parameters.text)" }

    public static func invalidParameter(_ parameter: String, reason: String? = nil) -> VarlinkError {
        var p: [String: JSON] = ["parameter": .string(parameter)]
        if let reason { p["reason"] = .string(reason) }
        return VarlinkError("org.varlink.service.InvalidParameter", .object(p))
    }

    public static func methodNotFound(_ method: String) -> VarlinkError {
        VarlinkError("org.varlink.service.MethodNotFound", ["method": .string(method)])
    }

    public static func interfaceNotFound(_ interface: String) -> VarlinkError {
        VarlinkError("org.varlink.service.InterfaceNotFound", ["interface": .string(interface)])
    }

    public static func expectedMore() -> VarlinkError { VarlinkError("org.varlink.service.ExpectedMore") }
}

/// NUL-terminated JSON messages on a stream.
public enum VarlinkFrame {
    public static func encode(_ json: JSON) -> [UInt8] {
        var bytes = Array(json.text.utf8)
        bytes.append(0)
        return bytes
    }

    /// Collects bytes from a stream and cuts them into messages.
    public struct Reader: Sendable {
        private var pending: [UInt8] = []
        private var start = 0
        /// Largest message accepted; a longer one is an error.
        public var limit: Int

        public init(limit: Int) { self.limit = limit }

        public enum Failure: Error, Sendable, Equatable {
            case tooLarge(limit: Int)
        }

        /// Bytes received but not yet part of a complete message.
        public var buffered: Int { pending.count - start }

        public mutating func append(_ bytes: some Collection<UInt8>) {
            if start > 0, start == pending.count {
                pending.removeAll(keepingCapacity: true)
                start = 0
            }
            pending.append(contentsOf: bytes)
        }

        /// The next complete message (without its NUL), nil when none is complete yet.
        public mutating func next() throws(Failure) -> ArraySlice<UInt8>? {
            guard let nul = pending[start...].firstIndex(of: 0) else {
                if buffered > limit { throw .tooLarge(limit: limit) }
                return nil
            }
            if nul - start > limit { throw .tooLarge(limit: limit) }
            let message = pending[start..<nul]
            start = nul + 1
            if start > 65536, start * 2 > pending.count {
                pending.removeFirst(start)
                start = 0
                return ArraySlice(Array(message))
            }
            return message
        }
    }
}
