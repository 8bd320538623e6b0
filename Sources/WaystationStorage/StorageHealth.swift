#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Synchronization

/// How the database is doing, as every write reports it: the last failure, failures counted, whether
/// the disk is full or the file corrupt, and whether it had to be recovered at start. Self-test,
/// `GetStatus`, the watchdog and the `StorageFailing` alert read it.
public final class StorageHealth: Sendable {
    public struct Status: Sendable, Equatable {
        public var ok = true
        public var lastError: String?
        public var failingSince: Date?
        public var errors = 0
        /// Write transactions committed since the database was opened.
        public var commits = 0
        /// The disk is full (SQLITE_FULL): writes resume by themselves when space returns.
        public var full = false
        /// The file is damaged (SQLITE_CORRUPT / NOTADB): a restart moves it aside.
        public var corrupt = false
        /// At start the database was damaged and was moved aside to this file.
        public var recoveredFrom: String?
    }

    private let state = Mutex(Status())

    public init() {}

    public var status: Status { state.withLock { $0 } }

    func recovered(from path: String) { state.withLock { $0.recoveredFrom = path } }

    /// Records a failed database operation.
    func failed(_ error: any Error, now: Date = Date()) {
        let code = (error as? DatabaseError)?.resultCode
        state.withLock {
            $0.ok = false
            $0.errors += 1
            $0.lastError = Self.describe(error)
            if $0.failingSince == nil { $0.failingSince = now }
            if code == .SQLITE_FULL { $0.full = true }
            if code == .SQLITE_CORRUPT || code == .SQLITE_NOTADB { $0.corrupt = true }
        }
    }

    /// Records a successful write: the disk takes writes again.
    func succeeded() {
        state.withLock {
            $0.commits += 1
            if !$0.ok {
                $0.ok = !$0.corrupt
                $0.full = false
                $0.failingSince = $0.corrupt ? $0.failingSince : nil
            }
        }
    }

    /// Marks the file damaged (a quick_check found problems).
    func corrupted(_ detail: String, now: Date = Date()) {
        state.withLock {
            $0.ok = false
            $0.corrupt = true
            $0.errors += 1
            $0.lastError = "database damaged: \(detail)"
            if $0.failingSince == nil { $0.failingSince = now }
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let e = error as? DatabaseError else { return "\(error)" }
        switch e.resultCode {
        case .SQLITE_FULL: return "disk full (\(e.message ?? "SQLITE_FULL"))"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return "database damaged (\(e.message ?? "corrupt"))"
        case .SQLITE_IOERR: return "I/O error (\(e.message ?? "SQLITE_IOERR"))"
        case .SQLITE_READONLY: return "database read-only (\(e.message ?? "SQLITE_READONLY"))"
        default: return e.message ?? "\(e)"
        }
    }
}
