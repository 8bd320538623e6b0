#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore
import WaystationModbus

/// What one poll of one device's job produced.
public struct CycleResult: Sendable {
    public var device: String
    public var at: Date
    public var readings: [String: ReadOutcome]
    /// Split addresses learned in this cycle.
    public var newSplits: [(table: RegisterTable, address: Int)]
    /// Requests sent on the wire.
    public var requests: Int

    public var outcome: DeviceHealth.Outcome {
        var firstError: String?
        var good = 0
        for point in readings.keys.sorted() {
            switch readings[point] {
            case .value?: good += 1
            case .failed(let e)?: if firstError == nil { firstError = e.description }
            case nil: break
            }
        }
        guard let firstError else { return .allGood }
        return good == 0 ? .failed(firstError) : .partial(firstError)
    }
}
