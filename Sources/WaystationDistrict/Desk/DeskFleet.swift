import Hummingbird

// Skeleton (the lead's): helper "fleet" replaces this file with the fleet table, the station pages,
// their charts' series and the alerts and silences.

/// The fleet, a station's page, the alerts.
struct DeskFleetSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {}
}
