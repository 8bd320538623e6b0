#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the alert engine and the interlocks see of the station at one moment: every device's state
/// and its points' latest readings. Built by the poller's monitor, consumed by pure logic.
public struct StationSnapshot: Sendable, Equatable {
    /// One point as last polled.
    public struct Point: Sendable, Equatable {
        /// The latest good value; nil when the device answered "no reading" (a sentinel).
        public var value: Double?
        /// When the point was last read successfully (nil: never since start).
        public var readAt: Date?
        /// The last read of it failed.
        public var failing: Bool

        public init(value: Double?, readAt: Date?, failing: Bool) {
            self.value = value
            self.readAt = readAt
            self.failing = failing
        }
    }

    public struct Device: Sendable, Equatable {
        public var state: DeviceState
        public var inMaintenance: Bool
        public var points: [String: Point]

        public init(state: DeviceState, inMaintenance: Bool, points: [String: Point]) {
            self.state = state
            self.inMaintenance = inMaintenance
            self.points = points
        }

        /// Good values only: points whose last read succeeded with a reading.
        public var values: [String: Double] {
            points.compactMapValues { $0.failing ? nil : $0.value }
        }
    }

    public var devices: [String: Device]

    public init(devices: [String: Device] = [:]) {
        self.devices = devices
    }

    /// A point's latest good value.
    public func value(_ ref: StationConfig.PointRef) -> Double? {
        guard let p = devices[ref.device]?.points[ref.point], !p.failing else { return nil }
        return p.value
    }

    public func point(_ ref: StationConfig.PointRef) -> Point? { devices[ref.device]?.points[ref.point] }
}

/// Where the snapshot comes from (the polling monitor).
public protocol StationSnapshotSource: Sendable {
    /// The devices given (all when nil).
    func snapshot(of devices: Set<String>?) async -> StationSnapshot
}

/// Reacts to each device's poll once the monitor has taken it in (the alert engine and the
/// interlocks), in the same poll cycle.
public protocol PollObserver: Sendable {
    func afterPoll(device: String) async
}

/// Switches charging-slot relays: a write and a read-back on the relay's bus, before anything a
/// control client asked for.
public protocol RelayControl: Sendable {
    /// Writes the coil and returns its state read back from the device.
    func setRelay(_ ref: StationConfig.PointRef, on: Bool) async throws -> Bool
}
