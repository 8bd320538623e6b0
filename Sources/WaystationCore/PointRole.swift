/// What a profile point means to the station, so that the daemon can tell the kiosk what a rider
/// wants to know without hard-coding point names (`role = "room_temperature"` on a `[[point]]`).
public enum PointRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// The room's temperature (an AC's return-air sensor), °C.
    case roomTemperature = "room_temperature"
    /// Non-zero while the AC runs.
    case acRunning = "ac_running"
    /// The AC's set point, °C.
    case setpoint
    /// The drinking water's temperature (a fridge's cabinet probe), °C.
    case waterTemperature = "water_temperature"
    /// Power drawn (a microwave's outlet meter), W.
    case power

    /// The appliance kind whose point of this role the kiosk prefers.
    public var preferredKind: Profile.Kind {
        switch self {
        case .roomTemperature, .acRunning, .setpoint: .airConditioner
        case .waterTemperature: .fridge
        case .power: .microwave
        }
    }
}
