import WaystationCore
import CShim
import Foundation

/// Who is on the other end of a Unix socket, from SO_PEERCRED.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var userName: String

    public init(pid: Int32, uid: UInt32, gid: UInt32, userName: String) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.userName = userName
    }

    /// Reads the peer of a connected socket.
    public static func of(fd: Int32) -> PeerCredentials? {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard ws_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        return PeerCredentials(pid: pid, uid: uid, gid: gid, userName: userName(uid))
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

    /// uid 0, or a member of `adminGroup`.
    public func isAdmin(adminGroup: String?) -> Bool {
        if uid == 0 { return true }
        guard let adminGroup, !adminGroup.isEmpty else { return false }
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(adminGroup, &grp, &buffer, buffer.count, &result) == 0, result != nil else { return false }
        if gid == grp.gr_gid { return true }
        return ws_user_in_group(userName, gid, grp.gr_gid) == 1
    }
}
