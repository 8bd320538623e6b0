import Hummingbird

// Skeleton (the lead's): helper "work" replaces this file with the reports queue, riders' points,
// notices and services.

/// Reports, riders, notices, services.
struct DeskWorkSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {}
}
