/// What an appliance model is and where its values live (BRIEF 4.2, `devices/*.toml`).
public struct Profile: Sendable, Hashable {
    /// Appliance kinds the daemon knows.
    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case airConditioner = "air_conditioner"
        case fridge
        case microwave
        case charger
        case meter
        case other
    }

    public var name: String
    public var kind: Kind
    public var description: String?
    public var wordOrder: WordOrder
    /// Largest register read the device accepts (≤ 125).
    public var maxRegistersPerRead: Int
    /// Largest bit read the device accepts (≤ 2000).
    public var maxBitsPerRead: Int
    public var points: [PointSpec]
    /// What the device answers for unused addresses inside a read: an error ("illegal data
    /// address", most controllers) or zeros (Eastron meters). The simulator does the same.
    public var holesReadAsZero: Bool = false
    /// Default alert rules for devices of this profile.
    public var alerts: [AlertRuleSpec] = []
    /// The file it was loaded from.
    public var path: String

    public init(
        name: String, kind: Kind, description: String? = nil, wordOrder: WordOrder = .big,
        maxRegistersPerRead: Int = 125, maxBitsPerRead: Int = 2000, points: [PointSpec], path: String = ""
    ) {
        self.name = name
        self.kind = kind
        self.description = description
        self.wordOrder = wordOrder
        self.maxRegistersPerRead = maxRegistersPerRead
        self.maxBitsPerRead = maxBitsPerRead
        self.points = points
        self.path = path
    }

    public func point(named name: String) -> PointSpec? {
        points.first { $0.name == name }
    }
}
