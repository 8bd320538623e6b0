/// Counters of one bus since the daemon started: requests by result, reconnects, and a histogram of
/// request durations (for `/metrics`; Prometheus handles the reset at a restart).
public struct BusStatistics: Sendable, Equatable {
    /// How a request ended.
    public enum Result: String, Sendable, CaseIterable {
        case ok, timeout, crc, exception, connection, invalid
    }

    /// Upper bounds of the duration buckets, in seconds.
    public static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    public var requests: [Result: Int] = [:]
    /// Connections (re)opened after the first.
    public var reconnects = 0
    /// Cumulative counts per bucket (same order as `buckets`), and the total count and sum.
    public var durationBuckets = [Int](repeating: 0, count: BusStatistics.buckets.count)
    public var durationCount = 0
    public var durationSum = 0.0

    public init() {}

    mutating func record(_ result: Result, seconds: Double) {
        requests[result, default: 0] += 1
        durationCount += 1
        durationSum += seconds
        for (i, bound) in Self.buckets.enumerated() where seconds <= bound { durationBuckets[i] += 1 }
    }

    static func result(of cause: ModbusError.Cause) -> Result {
        switch cause {
        case .timeout: .timeout
        case .badCRC: .crc
        case .exception: .exception
        case .connectionRefused, .connectionReset, .connectionFailed, .reconnectBackoff: .connection
        case .invalidResponse, .invalidRequest, .busy: .invalid
        }
    }
}
