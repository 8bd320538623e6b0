import Crypto
import WaystationLink

/// Seals a rider's id to the district hub's rider key, so that only the hub can open it: the link's
/// one sealing rule, `RiderSeal` (HPKE, RFC 9180 base mode, `Curve25519_SHA256_ChachaPoly`, info
/// "waystation rider v1", the station's id as associated data: a sealed id opens only for the
/// station it was sealed for). A fresh encapsulated key per seal: two seals of one id look
/// unrelated. The station keeps no key that opens it.
public struct DistrictSealer: Sendable {
    let key: Curve25519.KeyAgreement.PublicKey
    let station: String

    /// - Parameter publicKey: the hub's X25519 public key, 32 raw bytes.
    public init(publicKey: [UInt8], station: String) throws {
        key = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey)
        self.station = station
    }

    /// The sealed id: encapsulated key and ciphertext, base64.
    public func seal(_ normalized: String) throws -> (enc: String, ct: String) {
        let sealed = try RiderSeal.seal(normalized, ref: "", station: station, to: key)
        return (sealed.enc, sealed.ct)
    }
}
