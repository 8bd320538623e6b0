import Crypto
import FoundationEssentials

/// Sealing a rider's normalised id to the hub: HPKE (RFC 9180) base mode,
/// `Curve25519_SHA256_ChachaPoly`, info "waystation rider v1", aad the UTF-8 station id, so a sealed
/// id opens only at the hub and only for the station it was sealed for.
public enum RiderSeal {
    public static let ciphersuite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly
    public static let info = "waystation rider v1"
    /// Longest normalised id accepted (the station's `RiderID.maxLength`).
    public static let maxLength = 64

    /// Seals `normalizedID` for `station` to the hub's public key.
    public static func seal(
        _ normalizedID: String, ref: String, station: String, to hubKey: Curve25519.KeyAgreement.PublicKey
    ) throws -> SealedRider {
        var sender = try HPKE.Sender(recipientKey: hubKey, ciphersuite: ciphersuite, info: Data(info.utf8))
        let ct = try sender.seal(Data(normalizedID.utf8), authenticating: Data(station.utf8))
        return SealedRider(
            ref: ref, enc: sender.encapsulatedKey.base64EncodedString(), ct: ct.base64EncodedString())
    }

    /// Opens a sealed id sealed for `station`; the normalised id, or a `RiderSealError` saying why not
    /// (never repeating the id).
    public static func open(
        _ sealed: SealedRider, station: String, with key: Curve25519.KeyAgreement.PrivateKey
    ) throws(RiderSealError) -> String {
        guard let enc = Data(base64Encoded: sealed.enc), let ct = Data(base64Encoded: sealed.ct) else {
            throw RiderSealError("not base64")
        }
        let plain: Data
        do {
            var recipient = try HPKE.Recipient(
                privateKey: key, ciphersuite: ciphersuite, info: Data(info.utf8), encapsulatedKey: enc)
            plain = try recipient.open(ct, authenticating: Data(station.utf8))
        } catch {
            throw RiderSealError("does not open (tampered, or sealed for another station or hub key)")
        }
        guard let id = String(validating: plain, as: UTF8.self), isNormalized(id) else {
            throw RiderSealError("not a normalised rider id")
        }
        return id
    }

    /// The station's normalisation's output alphabet: 1...64 of 0-9 a-z +, at least one alphanumeric.
    public static func isNormalized(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxLength else { return false }
        var alphanumerics = 0
        for b in id.utf8 {
            switch b {
            case 0x30...0x39, 0x61...0x7A: alphanumerics += 1
            case 0x2B: continue
            default: return false
            }
        }
        return alphanumerics > 0
    }

    /// The hub's public key from `hub-rider.pub` text (raw 32 bytes, base64).
    public static func publicKey(base64 text: String) throws(RiderSealError) -> Curve25519.KeyAgreement.PublicKey {
        let trimmed = text.filter { !$0.isWhitespace }
        guard let raw = Data(base64Encoded: trimmed) else { throw RiderSealError("the hub key is not base64") }
        do {
            return try Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw)
        } catch {
            throw RiderSealError("the hub key is not a 32-byte X25519 public key")
        }
    }
}

public struct RiderSealError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
