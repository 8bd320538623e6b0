#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging
import WaystationCore
import WaystationProtocol
import WaystationStorage

/// The station's side of the district link: seals a scanned rider's id for the hub when the hub
/// does not know the rider yet, hands the uplink what waits to go up, takes in what the hub
/// accepted and what it sends down (verdicts, categories, notices, services, balances), and tells
/// the kiosk the district's categories, notices and a rider's balance. A station with no
/// `[district]` does none of it.
public actor DistrictDesk: Reloadable {
    public nonisolated let store: DistrictStore
    private var district: StationConfig.District?
    private var sealer: DistrictSealer?
    private var cached: DistrictStore.Shown?
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// A balance older than this (since the last sync) is shown as "last known".
    public static let freshFor: TimeInterval = 300

    public init(
        config: StationConfig, store: DistrictStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.store = store
        self.logger = logger
        self.now = now
        district = config.district
        sealer = try Self.sealer(config.district)
    }

    /// The sealer for `[district]`; refuses a key this process could not read.
    static func sealer(_ district: StationConfig.District?) throws -> DistrictSealer? {
        guard let district else { return nil }
        guard let key = district.riderKey else {
            throw VisitError(
                "[district] rider_key_file \(district.riderKeyFile) is not readable by waystationd; it holds the hub's public key: chmod 644 it"
            )
        }
        do { return try DistrictSealer(publicKey: key, station: district.station) } catch {
            throw VisitError("[district] rider_key_file \(district.riderKeyFile): not an X25519 public key")
        }
    }

    public func reload(_ config: StationConfig) {
        do {
            sealer = try Self.sealer(config.district)
            district = config.district
        } catch {
            logger.error("district link: the new [district] is not used", metadata: ["error": "\(error)"])
        }
    }

    public var enrolled: StationConfig.District? { district }

    /// After a kiosk scan: queues the rider's sealed id unless the hub knows the rider or a look-up
    /// waits already. The raw id goes into the seal and nowhere else; a failure is logged (without
    /// the id) and the scan stands.
    public func scanned(_ rider: RiderID, pseudonym: String) async {
        guard let sealer else { return }
        do {
            guard try await store.needsLookup(pseudonym) else { return }
            let sealed = try sealer.seal(rider.normalized)
            try await store.queueLookup(pseudonym, enc: sealed.enc, ct: sealed.ct, at: now())
        } catch {
            logger.error("district link: could not queue a rider look-up", metadata: ["error": "\(error)"])
        }
    }

    /// The district's categories, notices and services as last received (cached until the next apply).
    public func shown() async throws -> DistrictStore.Shown {
        guard district != nil else { return DistrictStore.Shown() }
        if let cached { return cached }
        let s = try await store.shown()
        cached = s
        return s
    }

    /// The hazard categories riders may report: the district's when it sent any, else the config's.
    public func hazards(default config: [StationConfig.Hazard]) async -> [StationConfig.Hazard] {
        guard let s = try? await shown(), !s.categories.isEmpty else { return config }
        return s.categories.map { .init(id: $0.id, name: $0.nameZh ?? $0.name, nameEn: $0.name, points: $0.points) }
    }

    /// Notices valid now, newest first, Chinese first (English beside).
    public func notices() async -> [KioskNotice]? {
        guard district != nil, let s = try? await shown() else { return nil }
        let t = StationDatabase.ms(now())
        return s.notices.filter { $0.from <= t && t < $0.until }.map { n in
            KioskNotice(
                id: n.notice.id, title: n.notice.titleZh ?? n.notice.title,
                titleEn: n.notice.titleZh == nil ? nil : n.notice.title, body: n.notice.bodyZh ?? n.notice.body,
                bodyEn: n.notice.bodyZh == nil ? nil : n.notice.body,
                until: LocalTime.station.iso8601(StationDatabase.date(ms: n.until)))
        }
    }

    /// A rider's district balance, marked last known when the last sync is older than `freshFor`.
    public func rider(_ pseudonym: String) async -> RiderDistrict? {
        guard district != nil, let b = try? await store.balance(station: pseudonym) else { return nil }
        let last = (try? await shown())?.lastSync ?? b.updated
        let age = max(0, Int(now().timeIntervalSince(last)))
        return RiderDistrict(
            balance: b.balance, recent: b.recent, asOf: LocalTime.station.iso8601(b.updated), age: age,
            lastKnown: Double(age) > Self.freshFor)
    }

    /// Applies the hub's changes (see `DistrictStore.apply`) and refreshes what the kiosk shows.
    public func apply(_ changes: DistrictChanges, cursor: String) async throws -> Int {
        let judged = try await store.apply(changes, cursor: cursor, at: now())
        cached = nil
        logger.info("district link: changes applied", metadata: ["verdicts": "\(judged)"])
        return judged
    }

    public var clock: Date { now() }
}
