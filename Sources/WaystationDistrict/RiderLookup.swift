import Foundation
import Synchronization
import WaystationLink

/// `riders/lookup`: opens each sealed id (HPKE, aad = the station id), answers its district
/// pseudonym, and forgets the id. A tampered item, or one sealed for another station, is refused on
/// its own. Neither ids nor pseudonyms are ever logged.
struct RiderLookup: Sendable {
    let keys: HubKeys
    let store: HubStore
    let limiter: LookupLimiter

    /// Most sealed ids in one request.
    static let maxBatch = 500

    func lookup(station: String, _ request: LookupRequest) async throws -> LookupResponse {
        guard request.sealed.count <= Self.maxBatch else {
            throw HubError.badRequest("sealed: at most \(Self.maxBatch) per request")
        }
        guard limiter.take(station: station, count: request.sealed.count) else { throw LookupLimited() }
        var riders: [RiderMapping] = []
        var refused: [Refusal] = []
        for item in request.sealed {
            guard !item.ref.isEmpty, item.ref.count <= 128 else {
                refused.append(Refusal(ref: String(item.ref.prefix(128)), reason: "ref: empty or too long"))
                continue
            }
            do {
                riders.append(RiderMapping(ref: item.ref, district: try Self.pseudonym(item, station: station, keys)))
            } catch {
                refused.append(Refusal(ref: item.ref, reason: error.description))
            }
        }
        try await store.remember(station: station, riders: Array(Set(riders.map(\.district))).sorted())
        return LookupResponse(riders: riders, refused: refused)
    }

    /// Opens one sealed id sealed for `station` and answers its district pseudonym: the one path from
    /// a sealed id to a pseudonym, for kiosks' look-ups and the desk's (station "desk").
    static func pseudonym(
        _ item: SealedRider, station: String, _ keys: HubKeys
    ) throws(RiderSealError) -> String {
        keys.pseudonym(try RiderSeal.open(item, station: station, with: keys.hpke))
    }
}

/// The station asked for more look-ups this hour than `[limits] lookups_per_hour`: 429.
struct LookupLimited: Error {}

/// Look-ups per station in fixed one-hour windows (in memory: a hub restart forgives).
final class LookupLimiter: Sendable {
    let perHour: Int
    private let windows = Mutex<[String: (start: ContinuousClock.Instant, used: Int)]>([:])

    init(perHour: Int) { self.perHour = perHour }

    /// Takes `count` look-ups from the station's hour; false (taking none) when they do not fit.
    func take(station: String, count: Int) -> Bool {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            var w = windows[station] ?? (now, 0)
            if now - w.start >= .seconds(3600) { w = (now, 0) }
            guard w.used + count <= perHour else { return false }
            w.used += count
            windows[station] = w
            return true
        }
    }
}
