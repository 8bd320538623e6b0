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

    /// All good, partly or wholly failed; the error named is the first failing point's by name.
    public var outcome: DeviceHealth.Outcome {
        var firstError: (point: String, error: ModbusError)?
        var good = 0
        for (point, reading) in readings {
            switch reading {
            case .value: good += 1
            case .failed(let e):
                if let first = firstError, first.point < point { continue }
                firstError = (point, e)
            }
        }
        guard let firstError else { return .allGood }
        let text = firstError.error.description
        return good == 0 ? .failed(text) : .partial(text)
    }
}
