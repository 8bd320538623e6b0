import Hummingbird

// Skeleton (the lead's): helper "auth" replaces this file with the log-in, sessions, CSRF check and
// the users and audit pages. Until then nobody is signed in: every desk page asks for a log-in.

/// Finds the session of the request's `desk_session` cookie and checks the CSRF token of changes.
struct DeskAuthMiddleware: RouterMiddleware {
    typealias Context = HubContext
    let env: DeskEnv

    func handle(
        _ request: Request, context: HubContext, next: (Request, HubContext) async throws -> Response
    ) async throws -> Response {
        try await next(request, context)
    }
}

/// Log-in, log-out, users and the audit log.
struct DeskAuthSection: DeskSection {
    func add(to desk: RouterGroup<HubContext>, env: DeskEnv) {}
}
