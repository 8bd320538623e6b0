#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import WaystationProtocol

extension StationConfigLoader {
    /// `[district]`: url (https), station, token_file, ca_file, rider_key_file; nil when absent.
    /// A missing file is an error naming its key; token and CA files are read by the uplink, so only
    /// their existence is checked here. The rider key must be 32 bytes of base64 when readable.
    static func parseDistrict(
        root: TableReader, source: TOMLSource, station: String, resolve: (String) -> String,
        errors: inout [ConfigError]
    ) -> StationConfig.District? {
        guard let t = root.subtable("district") else { return nil }
        let r = TableReader(source: source, table: t, section: "district")
        let url = r.string("url", required: true) ?? ""
        if r.has("url") {
            let parsed = URL(string: url)
            if parsed?.scheme?.lowercased() != "https" || parsed?.host?.isEmpty != false {
                r.report("url", "expected an https://host[:port] URL (the link is HTTPS only), got \"\(url)\"")
            }
        }
        let id = r.string("station", default: station) ?? station
        if id.isEmpty || id.count > 64
            || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        {
            r.report("station", "expected 1 to 64 ASCII letters, digits, '-', '_' or '.', got \"\(id)\"")
        }
        func file(_ key: String) -> String {
            guard let text = r.string(key, required: true) else { return "" }
            let path = resolve(text)
            if let problem = fileProblem(path) { r.report(key, "\(path) \(problem)") }
            return path
        }
        let token = file("token_file")
        let ca = file("ca_file")
        let keyFile = file("rider_key_file")
        var key: [UInt8]?
        if !keyFile.isEmpty, fileProblem(keyFile) == nil {
            switch riderKey(path: keyFile) {
            case .success(let bytes): key = bytes
            case .failure(let problem): if let why = problem.why { r.report("rider_key_file", "\(keyFile): \(why)") }
            }
        }
        let interval = r.duration("sync_interval", default: .seconds(60)) ?? .seconds(60)
        if interval < .seconds(1) || interval > .seconds(3600) {
            r.report("sync_interval", "expected 1s to 1h, got \(DurationParser.format(interval))")
        }
        errors += r.finish()
        var district = StationConfig.District(
            url: url, station: id, tokenFile: token, caFile: ca, riderKeyFile: keyFile, riderKey: key)
        district.syncInterval = interval
        return district
    }

    /// Why a file cannot be used: missing, or not a regular file; nil when it is there (or when this
    /// process may not look into its directory: another process of the station reads it).
    static func fileProblem(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) != 0 {
            return errno == EACCES ? nil : "does not exist (\(String(cString: strerror(errno))))"
        }
        return (info.st_mode & S_IFMT) == S_IFREG ? nil : "is not a regular file"
    }

    struct KeyProblem: Error { var why: String? }

    /// The hub's rider key: base64 of 32 bytes (whitespace around it ignored). `.failure(nil)`: this
    /// process may not read it.
    static func riderKey(path: String) -> Result<[UInt8], KeyProblem> {
        let bytes: [UInt8]
        do { bytes = try SystemIO.readFile(path, limit: 4096) } catch {
            return .failure(KeyProblem(why: error.code == EACCES ? nil : "cannot read it: \(error)"))
        }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespaceAndNewlines()
        guard let data = Data(base64Encoded: text), data.count == 32 else {
            return .failure(
                KeyProblem(
                    why: "expected the hub's X25519 public key: 32 bytes in base64 (hub-rider.pub from enrolment)"))
        }
        return .success(Array(data))
    }
}
