#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A change the daemon tells `Watch` subscribers about.
public enum MonitorEvent: Sendable {
    case deviceState(device: String, transition: DeviceHealth.Transition)
    case maintenance(device: String, reason: String?, at: Date)
    case reload(at: Date, ok: Bool, detail: String?)
}
