import CShim
#if canImport(Glibc)
    import Glibc
#endif
import WaystationCore

/// What a peer may do, from least to most.
public enum Role: Int, Sendable, Comparable, CustomStringConvertible {
    /// Status, devices, alerts, figures.
    case reader
    /// Reader, plus check-in and check-out (the kiosk at the door).
    case kiosk
    /// Everything: writes, acknowledgements, maintenance, reload, visit lists, audit.
    case admin = 3
    /// Reader, plus the district link's methods (the uplink process); not the kiosk's.
    case uplink = 2

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

    /// Whether this role may call a method that needs `needed`: admin anything; kiosk and uplink
    /// their own methods and the reader's, never each other's.
    public func allows(_ needed: Role) -> Bool {
        self == .admin || needed == .reader || self == needed
    }

    public var description: String {
        switch self {
        case .reader: "reader"
        case .kiosk: "kiosk"
        case .admin: "admin"
        case .uplink: "uplink"
        }
    }
}

/// Which groups make a peer admin or kiosk (resolved from the config's group names).
public struct RolePolicy: Sendable, Equatable {
    public var adminGroup: String?
    public var kioskGroup: String?
    public var uplinkGroup: String?
    var adminGID: UInt32?
    var kioskGID: UInt32?
    var uplinkGID: UInt32?

    public init(adminGroup: String?, kioskGroup: String?, uplinkGroup: String? = nil) {
        self.adminGroup = adminGroup
        self.kioskGroup = kioskGroup
        self.uplinkGroup = uplinkGroup
        adminGID = adminGroup.flatMap(Self.gid)
        kioskGID = kioskGroup.flatMap(Self.gid)
        uplinkGID = uplinkGroup.flatMap(Self.gid)
    }

    public init(config: StationConfig) {
        self.init(
            adminGroup: config.control.adminGroup, kioskGroup: config.control.kioskGroup,
            uplinkGroup: config.control.uplinkGroup)
    }

    /// uid 0 or the admin group: admin; the kiosk group: kiosk; the uplink group: uplink; anyone else
    /// who can connect: reader.
    public func role(uid: UInt32, gid: UInt32, groups: [UInt32]) -> Role {
        let all = Set(groups + [gid])
        if uid == 0 { return .admin }
        if let adminGID, all.contains(adminGID) { return .admin }
        if let kioskGID, all.contains(kioskGID) { return .kiosk }
        if let uplinkGID, all.contains(uplinkGID) { return .uplink }
        return .reader
    }

    /// What a refused caller is told it needs.
    public func requirement(_ role: Role) -> String {
        switch role {
        case .admin: adminGroup.map { "uid 0 or membership of group \($0)" } ?? "uid 0"
        case .kiosk:
            [kioskGroup.map { "group \($0)" }, adminGroup.map { "group \($0)" }, "uid 0"].compactMap { $0 }
                .joined(separator: " or ")
        case .uplink:
            [uplinkGroup.map { "group \($0)" }, adminGroup.map { "group \($0)" }, "uid 0"].compactMap { $0 }
                .joined(separator: " or ")
        case .reader: "access to the socket"
        }
    }

    static func gid(_ name: String) -> UInt32? {
        guard !name.isEmpty else { return nil }
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return grp.gr_gid
    }
}

/// Who is on the other end of a Unix socket, from the kernel: SO_PEERCRED and SO_PEERGROUPS (the
/// peer's real groups when it connected, not the group database).
public struct Peer: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    public var userName: String
    public var role: Role

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32], userName: String, role: Role) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.userName = userName
        self.role = role
    }

    /// Reads the peer of a connected socket.
    public static func of(fd: Int32, policy: RolePolicy) -> Peer? {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard ws_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        var groups = [gid_t](repeating: 0, count: 64)
        var n = ws_peer_groups(fd, &groups, Int32(groups.count))
        if n == -2 {
            groups = [gid_t](repeating: 0, count: 65536)
            n = ws_peer_groups(fd, &groups, Int32(groups.count))
        }
        let list = n > 0 ? Array(groups[0..<Int(n)]) : []
        return Peer(
            pid: pid, uid: uid, gid: gid, groups: list, userName: userName(uid),
            role: policy.role(uid: uid, gid: gid, groups: list))
    }

    static func userName(_ uid: uid_t) -> String {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &pwd, &buffer, buffer.count, &result) == 0, result != nil, let name = pwd.pw_name else {
            return "uid \(uid)"
        }
        return String(cString: name)
    }
}
