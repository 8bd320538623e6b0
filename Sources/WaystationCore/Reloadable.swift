/// A service that takes a new, already validated config without restarting. Services that did not
/// change keep their state (connections, device health, alert timers).
public protocol Reloadable: Sendable {
    func reload(_ config: StationConfig) async
}
