import Crypto
import Foundation
import Logging
import ServiceLifecycle
import WaystationCore
import WaystationLink
import WaystationLinkClient
import WaystationProtocol

/// The station's side of the district link, store and forward both ways: what the daemon has
/// queued goes up (sealed rider ids, reports, day counts, the station's state) and what the hub has
/// for this station comes down (verdicts, categories, notices, services, balances), each step
/// acknowledged to the daemon only after the hub took it, so a restart of either end, or of this
/// process, loses nothing and applies nothing twice (the hub's writes are idempotent by key; the
/// daemon's are keyed, absolute state).
///
/// One round trip to the hub per `interval` while nothing is queued (the 4G link is paid by the
/// byte); a local look at the daemon every `localCheck` starts a round at once when a rider's id
/// or a report waits, so a rider at the kiosk sees their district balance within seconds.
public actor DistrictSync: Service {
    let district: StationConfig.District
    let configPath: String
    let daemon: DaemonConnection
    let logger: Logger
    let interval: Duration
    let localCheck: Duration
    let hub: HubClient
    /// Day counts as last accepted by the hub (sent again only when they change).
    var sentVisits: [String: Int] = [:]
    var stateSent: ContinuousClock.Instant?
    /// The outcome of the last round, for the log: a change is logged, a repeat is not.
    var lastProblem: String?

    /// `hub` is made from the same `[district]` (`HubClient(baseURL:station:tokenFile:caFile:)`), so
    /// an unreadable token or CA file stops the process at its start, not at its first round.
    public init(
        district: StationConfig.District, hub: HubClient, configPath: String, daemon: DaemonConnection,
        logger: Logger, localCheck: Duration = .seconds(5)
    ) {
        self.district = district
        self.hub = hub
        self.configPath = configPath
        self.daemon = daemon
        self.logger = logger
        interval = district.syncInterval
        self.localCheck = min(localCheck, district.syncInterval)
    }

    public func run() async throws {
        logger.info(
            "district link started", metadata: ["hub": "\(district.url)", "station": "\(district.station)"])
        await cancelWhenGracefulShutdown { await self.loop() }
        try? await hub.shutdown()
    }

    func loop() async {
        var failures = 0
        var lastRound = ContinuousClock.now - interval
        while !Task.isCancelled {
            let due = ContinuousClock.now - lastRound >= (failures == 0 ? interval : backoff(failures))
            let waiting = !due && failures == 0 ? await somethingWaits() : false
            if due || waiting {
                lastRound = .now
                do {
                    let summary = try await round()
                    if failures > 0 || lastProblem != nil {
                        logger.notice("district hub reachable again")
                    }
                    failures = 0
                    lastProblem = nil
                    if !summary.isEmpty { logger.info("district sync", metadata: summary) }
                } catch {
                    failures += 1
                    let words = "\(error)"
                    if words != lastProblem {
                        logger.warning(
                            "district sync failed; everything stays queued and is sent again",
                            metadata: ["error": "\(words)"])
                        lastProblem = words
                    }
                }
            }
            do { try await Task.sleep(for: localCheck) } catch { return }
        }
    }

    /// After a failure: 10 s, 20 s, … up to the interval (a hub that came back is found soon,
    /// a hub that stays away costs a round per interval).
    func backoff(_ failures: Int) -> Duration {
        min(.seconds(10 * (1 << min(failures - 1, 6))), interval)
    }

    /// True when the daemon has a rider's sealed id or a report waiting for the hub.
    func somethingWaits() async -> Bool {
        guard let s = try? await daemon.call(DistrictStatus.self, .init(), timeout: .seconds(10)) else { return false }
        return s.lookups > 0 || (s.reports - s.reportsWithoutRider) > 0
    }

    /// One round: up, then down. Returns what moved (for the log).
    @discardableResult
    public func round() async throws -> Logger.Metadata {
        var moved: Logger.Metadata = [:]
        var out = try await daemon.call(DistrictOutgoing.self, .init(limit: 200), timeout: .seconds(30))
        if !out.lookups.isEmpty {
            let answer = try await hub.lookup(
                LookupRequest(sealed: out.lookups.map { SealedRider(ref: $0.ref, enc: $0.enc, ct: $0.ct) }))
            _ = try await daemon.call(
                DistrictAccepted.self,
                .init(
                    riders: answer.riders.map { DistrictRiderMapping(ref: $0.ref, district: $0.district) },
                    refused: answer.refused.map { DistrictRefusal(ref: $0.ref, reason: $0.reason) }),
                timeout: .seconds(30))
            moved["riders"] = "\(answer.riders.count)"
            if !answer.refused.isEmpty { moved["riders_refused"] = "\(answer.refused.count)" }
            // Reports of riders just mapped can go in this same round.
            out = try await daemon.call(DistrictOutgoing.self, .init(limit: 200), timeout: .seconds(30))
        }
        if !out.reports.isEmpty {
            let answer = try await hub.sendReports(ReportsRequest(reports: out.reports.map(Self.link)))
            _ = try await daemon.call(DistrictAccepted.self, .init(reports: answer.accepted), timeout: .seconds(30))
            moved["reports"] = "\(answer.accepted.count)"
        }
        let changedDays = out.visits.filter { sentVisits["\($0.day)/\($0.category)"] != $0.visits }
        if !changedDays.isEmpty {
            try await hub.sendVisits(
                VisitsRequest(
                    days: changedDays.map { DayVisits(day: $0.day, category: $0.category, visits: $0.visits) }))
            for d in changedDays { sentVisits["\(d.day)/\(d.category)"] = d.visits }
            let days = Array(Set(out.visits.map(\.day))).sorted()
            _ = try await daemon.call(DistrictAccepted.self, .init(visitDays: days), timeout: .seconds(30))
            moved["visit_days"] = "\(Set(changedDays.map(\.day)).count)"
        }
        if stateSent.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
            try await hub.sendState(
                StationState(
                    software: WaystationVersion.string, config: Self.configHash(configPath),
                    reported: Self.now()))
            stateSent = .now
        }
        let changes = try await hub.changes(since: out.cursor ?? "")
        let applied = try await daemon.call(
            DistrictApply.self, .init(changes: Self.station(changes), cursor: changes.cursor), timeout: .seconds(30))
        if applied.verdicts > 0 { moved["verdicts"] = "\(applied.verdicts)" }
        if !changes.notices.isEmpty { moved["notices"] = "\(changes.notices.count)" }
        if !changes.balances.isEmpty { moved["balances"] = "\(changes.balances.count)" }
        return moved
    }

    static func link(_ r: WaystationProtocol.DistrictReport) -> WaystationLink.DistrictReport {
        WaystationLink.DistrictReport(
            id: r.id, key: r.key, category: r.category, location: r.location, note: r.note, rider: r.rider,
            created: r.created)
    }

    /// The hub's changes in the daemon's terms (the same fields; the cursor travels beside them).
    static func station(_ c: WaystationLink.DistrictChanges) -> WaystationProtocol.DistrictChanges {
        WaystationProtocol.DistrictChanges(
            verdicts: c.verdicts.map {
                DistrictVerdict(id: $0.id, verdict: $0.verdict, note: $0.note, points: $0.points, judged: $0.judged)
            },
            categories: c.categories.map { table in
                table.map {
                    WaystationProtocol.DistrictCategory(id: $0.id, name: $0.name, nameZh: $0.nameZh, points: $0.points)
                }
            },
            notices: c.notices.map {
                DistrictNotice(
                    id: $0.id, title: $0.title, titleZh: $0.titleZh, body: $0.body ?? "", bodyZh: $0.bodyZh,
                    from: $0.from, until: $0.until, withdrawn: $0.withdrawn)
            },
            services: c.services.map {
                WaystationProtocol.DistrictService(
                    id: $0.id, name: $0.name, nameZh: $0.nameZh, days: $0.days, hours: $0.hours,
                    withdrawn: $0.withdrawn)
            },
            balances: c.balances.map { b in
                DistrictBalance(
                    rider: b.rider, balance: b.balance,
                    recent: b.recent.map { DistrictEntry(at: $0.at, points: $0.points, why: $0.why) })
            })
    }

    /// The config file's SHA-256 (hex, first 16): the hub sees which config a station runs.
    static func configHash(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    static func now() -> String {
        Date().formatted(.iso8601)
    }
}
