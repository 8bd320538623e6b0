import Crypto
import Foundation

/// `stations add`: a new token, its hash into the database, and the station's files into a folder.
public enum Enrolment {
    public struct Files: Sendable {
        public var dir: String
        public var token: String
    }

    /// 32 random bytes, base64url without padding.
    public static func newToken() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Enrols `id` and writes `token`, `hub-ca.pem`, `hub-rider.pub` and `district.toml` into `out`
    /// (made 0700 if missing; files 0600). `url` is what the station dials (`https://host:port`).
    public static func enrol(
        id: String, name: String, address: String, out: String, url: String, config: HubConfig, keys: HubKeys,
        store: HubStore
    ) async throws -> Files {
        guard id.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) != nil else {
            throw HubError.badRequest("station id must be 1-63 of a-z 0-9 _ - (starting a-z 0-9)")
        }
        guard let ca = FileManager.default.contents(atPath: config.ca) else {
            throw HubConfigError(file: config.ca, key: "[tls] ca", "cannot read the CA certificate")
        }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw HubError.badRequest("--out \(out) is not a directory") }
            for f in ["token", "hub-ca.pem", "hub-rider.pub", "district.toml"]
            where fm.fileExists(atPath: "\(out)/\(f)") {
                throw HubError.conflict("--out \(out) already holds \(f); use an empty directory")
            }
        } else {
            try fm.createDirectory(
                atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: out)
        let token = newToken()
        try await store.addStation(id: id, name: name, address: address, token: token)
        let absolute = out.hasPrefix("/") ? out : fm.currentDirectoryPath + "/" + out
        let toml = """
            # District link of station \(id) (enrolled with \(config.districtID)); paste into the station's config.
            [district]
            url = "\(url)"
            station = "\(id)"
            token_file = "\(absolute)/token"
            ca_file = "\(absolute)/hub-ca.pem"
            rider_key_file = "\(absolute)/hub-rider.pub"

            """
        let files: [(String, Data)] = [
            ("token", Data((token + "\n").utf8)), ("hub-ca.pem", ca),
            ("hub-rider.pub", Data((keys.publicKeyText + "\n").utf8)), ("district.toml", Data(toml.utf8)),
        ]
        for (file, data) in files {
            guard fm.createFile(atPath: "\(out)/\(file)", contents: data, attributes: [.posixPermissions: 0o600])
            else { throw HubError.internal("cannot write \(out)/\(file)") }
        }
        return Files(dir: out, token: token)
    }
}
