#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The live value of a point as the daemon knows it, with its quality and age.
public struct PointState: Sendable, Equatable {
    public enum Quality: Sendable, Equatable {
        case good
        /// No fresh read for a while (the device is slow, backed off or offline).
        case stale
        /// The last read failed with this error.
        case bad(String)

        public var name: String {
            switch self {
            case .good: "good"
            case .stale: "stale"
            case .bad: "bad"
            }
        }
    }

    public var value: PointValue?
    /// When the value was last read successfully.
    public var readAt: Date?
    public var error: String?
    /// How long before a good value counts as stale.
    public var staleAfter: TimeInterval

    public init(staleAfter: TimeInterval) {
        self.staleAfter = staleAfter
    }

    public func quality(at now: Date) -> Quality {
        if let error { return .bad(error) }
        guard let readAt else { return .stale }
        return now.timeIntervalSince(readAt) > staleAfter ? .stale : .good
    }

    public func age(at now: Date) -> TimeInterval? {
        readAt.map { now.timeIntervalSince($0) }
    }
}
