import Foundation
import NIOSSL
import WaystationCore

/// What the uplink needs of each webhook and Alertmanager `[[notify]]` target: its timeout and, for
/// https, its TLS settings, with the PEM files read and checked (at load, so a bad file is a clear
/// error at start, not a failed delivery at 3 am).
public struct UplinkTarget: Sendable {
    public var name: String
    public var kind: NotifyKind
    public var url: String
    /// The whole attempt: name lookup, connect, TLS handshake, request and answer.
    public var timeout: Duration
    /// nil: the system's trust roots and no client certificate.
    public var tls: TLSConfiguration?
}

/// The station config as the uplink reads it.
public struct UplinkConfig: Sendable {
    public var socket: String
    public var targets: [String: UplinkTarget]
    /// The config file's `[station] id` (logs).
    public var station: String
    /// `[district]`: the link to the district hub this process carries; nil for a station on its own.
    public var district: StationConfig.District?

    /// Why a config cannot be used, every problem named.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads `path` with the daemon's own loader, then reads each target's PEM files.
    public static func load(path: String) throws(Invalid) -> UplinkConfig {
        let config: StationConfig
        do { config = try StationConfigLoader.load(path: path) } catch { throw Invalid(description: "\(error)") }
        return try from(config)
    }

    public static func from(_ config: StationConfig) throws(Invalid) -> UplinkConfig {
        var targets: [String: UplinkTarget] = [:]
        var problems: [String] = []
        for t in config.notify where t.kind != .exec {
            do {
                targets[t.name] = UplinkTarget(
                    name: t.name, kind: t.kind, url: t.url ?? "", timeout: t.timeout, tls: try tls(t))
            } catch {
                problems.append("\(config.path): [[notify]] \"\(t.name)\": \(error)")
            }
        }
        if !problems.isEmpty { throw Invalid(description: problems.joined(separator: "\n")) }
        return UplinkConfig(
            socket: config.control.socket, targets: targets, station: config.station.id, district: config.district)
    }

    struct FileProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// The target's TLS configuration: `ca` as the only trust root, `certificate` + `key` as the
    /// client's identity. nil when the target sets none of them.
    static func tls(_ t: StationConfig.Notify) throws(FileProblem) -> TLSConfiguration? {
        guard t.ca != nil || t.certificate != nil || t.key != nil else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = t.ca {
            let roots = try read("ca", ca) { try NIOSSLCertificate.fromPEMFile(ca) }
            guard !roots.isEmpty else { throw FileProblem(description: "ca: \(ca) holds no PEM certificate") }
            tls.trustRoots = .certificates(roots)
        }
        if let certificate = t.certificate, let key = t.key {
            let chain = try read("certificate", certificate) { try NIOSSLCertificate.fromPEMFile(certificate) }
            guard !chain.isEmpty else {
                throw FileProblem(description: "certificate: \(certificate) holds no PEM certificate")
            }
            let privateKey = try read("key", key) { try NIOSSLPrivateKey(file: key, format: .pem) }
            tls.certificateChain = chain.map { .certificate($0) }
            tls.privateKey = .privateKey(privateKey)
        }
        do {
            _ = try NIOSSLContext(configuration: tls)
        } catch {
            throw FileProblem(description: "certificate and key do not go together (\(error))")
        }
        return tls
    }

    static func read<T>(_ key: String, _ path: String, _ body: () throws -> T) throws(FileProblem) -> T {
        guard access(path, R_OK) == 0 else {
            throw FileProblem(description: "\(key): cannot read \(path) (\(String(cString: strerror(errno))))")
        }
        do { return try body() } catch {
            throw FileProblem(
                description: "\(key): \(path) is not a PEM \(key == "key" ? "private key" : "certificate") (\(error))")
        }
    }
}
