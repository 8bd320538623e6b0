import Crypto
import Foundation

/// Turns a rider's identifier (card number, phone number) into a pseudonym: HMAC-SHA256 with a
/// per-station secret. The raw identifier is never stored or logged; the same rider gets the same
/// pseudonym at one station and an unrelated one at another.
public struct Pseudonymizer: Sendable {
    /// Kept as bytes (SymmetricKey is not Sendable); the key is rebuilt per use.
    let secret: Data

    public init(secret: Data) {
        self.secret = secret
    }

    /// Loads the station's secret, creating it (32 random bytes, mode 0600) on first start.
    public static func loadOrCreate(path: String) throws -> Pseudonymizer {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count >= 32 else {
                throw VisitError(
                    "the visit secret \(path) is \(data.count) bytes; expected 32 or more (delete it to make a new one: old pseudonyms will not match)"
                )
            }
            return Pseudonymizer(secret: data)
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            // Someone else created it first: use theirs.
            if errno == EEXIST, let data = FileManager.default.contents(atPath: path), data.count >= 32 {
                return Pseudonymizer(secret: data)
            }
            throw VisitError("cannot create the visit secret \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == secret.count, fsync(fd) == 0 else {
            unlink(path)
            throw VisitError("cannot write the visit secret \(path)")
        }
        defer { secret.resetBytes(in: 0..<secret.count) }
        return Pseudonymizer(secret: secret)
    }

    /// The pseudonym: lowercase hex of HMAC-SHA256(secret, id).
    public func pseudonym(_ worker: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(worker.utf8), using: SymmetricKey(data: secret))
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// A check-in problem with a message safe to show (it never contains a raw rider id).
public struct VisitError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
