import WaystationModbus

/// A fault a simulated device can be put into while the simulator runs.
public enum SimFault: Sendable, Equatable, CustomStringConvertible {
    /// The device stops answering (the master times out).
    case silent
    /// Every request is answered with this exception.
    case exception(ModbusException)
    /// Replies are random bytes.
    case garbage
    /// RTU replies carry a wrong CRC (on TCP: same as garbage).
    case badCRC

    public var description: String {
        switch self {
        case .silent: "silent"
        case .exception(let e): "exception \(e.name)"
        case .garbage: "garbage"
        case .badCRC: "badcrc"
        }
    }
}
