import Logging
import WaystationCore

/// What the alert engine decided; the `AlertService` carries it out (I/O), in order.
public enum AlertAction: Sendable, Equatable {
    /// Save these alerts' state and queue these notifications, in one transaction.
    case save(alerts: [AlertInstance], outbox: [OutboxMessage])
    /// Switch a slot's relay off and read it back; the outcome goes back to `AlertEngine.tripped`.
    case switchOff(slot: String, relay: StationConfig.PointRef, kind: InterlockLogic.Kind, reason: String)
    /// Record durably that the slot is held off, with an audit entry.
    case latch(slot: String, InterlockLogic.Latch)
    /// Tell `Watch` subscribers.
    case publish(AlertEvent)
    /// Write a log line.
    case log(Logger.Level, String, [String: String])
}

/// One notification for one target, to go through the outbox.
public struct OutboxMessage: Sendable, Equatable {
    public var target: String
    public var payload: String

    public init(target: String, payload: String) {
        self.target = target
        self.payload = payload
    }
}

/// A change subscribers hear about.
public enum AlertEvent: Sendable, Equatable {
    case alert(AlertInstance, entered: AlertState)
    case interlock(slot: String, reason: String, ok: Bool)
}

/// Why a control request on alerts or slots was refused.
public enum AlertError: Error, Sendable, Equatable {
    case notFound
    case notFiring(AlertState)
    case slotNotFound
    case stillUnsafe(String)
    case relayFailed(String)
}
