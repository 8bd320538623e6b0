#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Crypto
import WaystationCore
import WaystationProtocol

/// Turns a rider's identifier (card number, phone number) into a pseudonym: HMAC-SHA256 (swift-crypto)
/// with a per-station secret, over the id normalised by `RiderID`. The raw identifier is never stored
/// or logged; the same rider gets the same pseudonym at one station and an unrelated one at another.
public struct Pseudonymizer: Sendable {
    private let key: SymmetricKey

    public init(secret: Data) {
        key = SymmetricKey(data: secret)
    }

    /// Loads the station's secret, creating it (32 random bytes, mode 0600) on first start. A secret
    /// that others may read is refused (whoever reads it can turn a phone number into its pseudonym);
    /// an empty one, left by a crash while it was being made, is made anew.
    public static func loadOrCreate(path: String) throws -> Pseudonymizer {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_size == 0 {
                unlink(path)
            } else {
                guard info.st_mode & 0o077 == 0 else {
                    throw VisitError(
                        "the visit secret \(path) has mode \(String(info.st_mode & 0o777, radix: 8)); it must be readable by the daemon alone: chmod 600 \(path)"
                    )
                }
                guard let bytes = try? SystemIO.readFile(path), bytes.count >= 32 else {
                    throw VisitError(
                        "the visit secret \(path) is shorter than 32 bytes; restore it from a backup, or delete it to make a new one (old pseudonyms will then not match)"
                    )
                }
                return Pseudonymizer(secret: Data(bytes))
            }
        }
        let dir = PathText.parent(path)
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        // 256 bits from the kernel's CSPRNG (SystemRandomNumberGenerator is getrandom(2) on Linux).
        var random = SystemRandomNumberGenerator()
        var secret: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: random.next() as UInt64) { secret += $0 } }
        defer { for i in secret.indices { secret[i] = 0 } }
        // Written to a temporary file and renamed: a crash leaves either no secret or a whole one.
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VisitError("cannot create the visit secret \(path): \(String(cString: strerror(errno)))")
        }
        let written = secret.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == secret.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw VisitError("cannot write the visit secret \(path)")
        }
        if let dirFD = Optional(open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)), dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
        return Pseudonymizer(secret: Data(secret))
    }

    /// The rider's pseudonym: lowercase hex of HMAC-SHA256(secret, the normalised id).
    public func pseudonym(_ rider: RiderID) -> String {
        pseudonym(exactly: rider.normalized)
    }

    /// Lowercase hex of HMAC-SHA256(secret, text), over the text as given (UTF-8). Callers with a
    /// rider's id use `pseudonym(_:)`, which normalises it first.
    public func pseudonym(exactly text: String) -> String {
        HexText.bytes(Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
    }
}

/// A check-in problem with a message safe to show (it never contains a raw rider id).
public struct VisitError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
