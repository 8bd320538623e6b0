#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import WaystationCore

/// The kiosk's rider sessions (pure, driven by the time it is given): after a scan the kiosk gets a
/// random token standing for the rider for a few minutes, so that it can show the rider's points and
/// file reports without ever holding the rider's id or pseudonym. Kept in memory only: a restart of
/// the daemon ends every session (the rider scans again).
public struct KioskSessions: Sendable {
    struct Entry: Sendable {
        var pseudonym: String
        var lastUsed: Date
        /// The rider's own last act: the scan that opened it, or a report filed in it.
        var acted: Date
    }

    private var entries: [String: Entry] = [:]
    /// A session unused for this long ends.
    public var timeout: TimeInterval
    /// At most this many sessions at once (the oldest go first).
    public var capacity: Int

    public init(timeout: TimeInterval, capacity: Int = 256) {
        self.timeout = timeout
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// Opens a session for a rider under `token`; the rider's older sessions end.
    public mutating func open(token: String, pseudonym: String, now: Date) {
        expire(now: now)
        entries = entries.filter { $0.value.pseudonym != pseudonym }
        while entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            entries[oldest.key] = nil
        }
        entries[token] = Entry(pseudonym: pseudonym, lastUsed: now, acted: now)
    }

    /// The rider of a live session that may file a report: the rider scanned (or filed a report)
    /// less than `window` ago. Looking at the panel (`use`) does not count: a panel left open is not
    /// the rider's to report from for the next person at the screen.
    public mutating func reporter(_ token: String, now: Date, window: TimeInterval) -> String? {
        guard let e = entries[token], now.timeIntervalSince(e.acted) < window else { return nil }
        return use(token, now: now)
    }

    /// The rider acted in the session (filed a report): the report window starts again.
    public mutating func acted(_ token: String, now: Date) {
        entries[token]?.acted = now
    }

    /// The rider of a live session (and the session is kept alive); nil when unknown or expired.
    public mutating func use(_ token: String, now: Date) -> String? {
        expire(now: now)
        guard var e = entries[token] else { return nil }
        e.lastUsed = now
        entries[token] = e
        return e.pseudonym
    }

    public mutating func end(_ token: String) {
        entries[token] = nil
    }

    mutating func expire(now: Date) {
        entries = entries.filter { now.timeIntervalSince($0.value.lastUsed) < timeout }
    }

    /// 128 random bits as 32 hex digits, from the system's CSPRNG.
    public static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<2).map { _ in HexText.padded(rng.next() as UInt64) }.joined()
    }
}

/// Rate limits for kiosk scans (pure): one scan per rider per `perRider`, and at most `perMinute`
/// scans from everyone together in any minute, so that a stuck key or a replayed card cannot create
/// a thousand visits.
public struct ScanLimiter: Sendable {
    public var perRider: TimeInterval
    public var perMinute: Int
    private var lastByRider: [String: Date] = [:]
    private var recent: [Date] = []

    public init(perRider: TimeInterval, perMinute: Int) {
        self.perRider = perRider
        self.perMinute = perMinute
    }

    /// Whether `rider` scanned less than `perRider` ago (what `admit` would refuse for this rider).
    public func scannedRecently(_ rider: String, now: Date) -> Bool {
        lastByRider[rider].map { now.timeIntervalSince($0) < perRider } ?? false
    }

    /// Admits a scan by `rider` (nil), or says in how many whole seconds to try again.
    public mutating func admit(_ rider: String, now: Date) -> Int? {
        recent.removeAll { now.timeIntervalSince($0) >= 60 }
        lastByRider = lastByRider.filter { now.timeIntervalSince($0.value) < perRider }
        if let last = lastByRider[rider] {
            return max(1, Int((perRider - now.timeIntervalSince(last)).rounded(.up)))
        }
        if recent.count >= perMinute, let first = recent.first {
            return max(1, Int((60 - now.timeIntervalSince(first)).rounded(.up)))
        }
        lastByRider[rider] = now
        recent.append(now)
        return nil
    }
}
