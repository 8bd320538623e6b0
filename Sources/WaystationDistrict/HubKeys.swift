import Crypto
import Foundation

/// The hub's two secrets, files outside the database: `[privacy] rider_key` (the HMAC key of
/// district pseudonyms) and `[privacy] hpke_key` (the X25519 private key rider ids are sealed to).
/// Each is 32 random bytes, base64, one line, mode 0600.
public struct HubKeys: Sendable {
    public let riderKey: SymmetricKey
    public let hpke: Curve25519.KeyAgreement.PrivateKey

    public init(riderKey: SymmetricKey, hpke: Curve25519.KeyAgreement.PrivateKey) {
        self.riderKey = riderKey
        self.hpke = hpke
    }

    /// Reads both key files; errors name the file.
    public static func load(_ config: HubConfig) throws(HubConfigError) -> HubKeys {
        let rider = try read(config.riderKey, config, "[privacy] rider_key")
        let hpkeRaw = try read(config.hpkeKey, config, "[privacy] hpke_key")
        do {
            return HubKeys(
                riderKey: SymmetricKey(data: rider),
                hpke: try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hpkeRaw))
        } catch {
            throw HubConfigError(file: config.hpkeKey, key: "[privacy] hpke_key", "is not an X25519 private key")
        }
    }

    /// Creates whichever key file is missing (never overwrites one); the paths created.
    public static func initialize(_ config: HubConfig) throws(HubConfigError) -> [String] {
        var made: [String] = []
        for (path, key) in [(config.riderKey, "[privacy] rider_key"), (config.hpkeKey, "[privacy] hpke_key")]
        where !FileManager.default.fileExists(atPath: path) {
            let bytes =
                key.hasSuffix("hpke_key")
                ? Curve25519.KeyAgreement.PrivateKey().rawRepresentation
                : SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data((bytes.base64EncodedString() + "\n").utf8),
                    attributes: [.posixPermissions: 0o600])
            else { throw HubConfigError(file: path, key: key, "cannot create the key file") }
            made.append(path)
        }
        return made
    }

    /// The public half of the HPKE key, as `hub-rider.pub` holds it (raw 32 bytes, base64).
    public var publicKeyText: String { hpke.publicKey.rawRepresentation.base64EncodedString() }

    /// The district pseudonym of a normalised rider id: the first 32 hex digits of
    /// HMAC-SHA256(rider_key, id).
    public func pseudonym(_ normalizedID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(normalizedID.utf8), using: riderKey)
        return mac.prefix(16).map { b in
            let hex = Array("0123456789abcdef")
            return String([hex[Int(b >> 4)], hex[Int(b & 15)]])
        }.joined()
    }

    static func read(_ path: String, _ config: HubConfig, _ key: String) throws(HubConfigError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HubConfigError(
                file: path, key: key,
                "cannot read the key file (run: waystation-district --config \(config.path) keys init)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let raw = Data(base64Encoded: text), raw.count == 32 else {
            throw HubConfigError(file: path, key: key, "must hold 32 bytes in base64")
        }
        return raw
    }
}
