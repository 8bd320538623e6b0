/// Silences in force, oldest first. Reader role.
public enum ListSilences: StationMethod {
    public static let name = "ListSilences"
    public typealias Parameters = Empty
    public struct Reply: Codable, Sendable, Equatable {
        public var silences: [SilenceInfo]
        public init(silences: [SilenceInfo]) { self.silences = silences }
    }
}

/// Ends a silence now. Admin only.
public enum ExpireSilence: StationMethod {
    public static let name = "ExpireSilence"
    public struct Parameters: Codable, Sendable, Equatable {
        public var id: Int
        public init(id: Int) { self.id = id }
    }
    public typealias Reply = Empty
}

public struct SilenceInfo: Codable, Sendable, Equatable {
    public var id: Int
    public var matchers: [String: String]
    /// ISO 8601 with the station's offset.
    public var until: String
    public var by: String
    public var comment: String
    /// Alerts it holds back now.
    public var silencing: Int
    public init(id: Int, matchers: [String: String], until: String, by: String, comment: String, silencing: Int) {
        self.id = id
        self.matchers = matchers
        self.until = until
        self.by = by
        self.comment = comment
        self.silencing = silencing
    }
}
