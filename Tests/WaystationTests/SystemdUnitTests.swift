import Foundation
import TestSupport
import Testing

/// The unit files pass `systemd-analyze verify` and rate 2.0 or better in `systemd-analyze security`.
@Suite("systemd units")
struct SystemdUnitTests {
    static func run(_ arguments: [String]) async throws -> (Int32, String) {
        try await Spawned.run("/usr/bin/systemd-analyze", arguments)
    }

    /// The units with the binary path pointed at this build (verify checks that it exists).
    static func units() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ws-units-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let service = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/sbin/waystationd", with: DaemonProcess.binDir + "/waystationd")
        try service.write(toFile: dir + "/waystation.service", atomically: true, encoding: .utf8)
        let web = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation-web.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/bin/waystation-web", with: DaemonProcess.binDir + "/waystation-web")
        try web.write(toFile: dir + "/waystation-web.service", atomically: true, encoding: .utf8)
        let uplink = try String(
            contentsOfFile: DaemonProcess.repo + "/systemd/waystation-uplink.service", encoding: .utf8
        )
        .replacingOccurrences(of: "/usr/bin/waystation-uplink", with: DaemonProcess.binDir + "/waystation-uplink")
        try uplink.write(toFile: dir + "/waystation-uplink.service", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: DaemonProcess.repo + "/systemd/waystation.socket", toPath: dir + "/waystation.socket")
        return dir
    }

    @Test("systemd-analyze verify passes")
    func verify() async throws {
        let dir = try Self.units()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // --man=no: the units' Documentation=man:… pages are installed by the package, not here.
        let (status, output) = try await Self.run([
            "verify", "--man=no", dir + "/waystation.service", dir + "/waystation.socket",
            dir + "/waystation-web.service", dir + "/waystation-uplink.service",
        ])
        #expect(status == 0, "\(output)")
        #expect(!output.contains("Unknown key"), "\(output)")
    }

    @Test(
        "systemd-analyze security rates each service 2.0 or lower",
        arguments: ["waystation", "waystation-web", "waystation-uplink"])
    func security(unit: String) async throws {
        let dir = try Self.units()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, output) = try await Self.run(["security", "--offline=yes", dir + "/\(unit).service"])
        let line = try #require(
            output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(output)")
        let score = line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        let value = try #require(score, "\(line)")
        #expect(value <= 2.0, "\(line)")
    }

    @Test("the web unit runs unprivileged: a dynamic user in the socket's and the kiosk's groups")
    func webUnit() throws {
        let unit = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation-web.service", encoding: .utf8)
        #expect(unit.contains("DynamicUser=yes"))
        #expect(unit.contains("SupplementaryGroups=waystation waystation-kiosk"))
        #expect(unit.contains("CapabilityBoundingSet=\n"))
        #expect(!unit.contains("StateDirectory"), "the web process keeps no state")
    }

    @Test("the uplink unit runs unprivileged in the uplink group; the daemon's unit reaches no other host")
    func uplinkUnit() async throws {
        let unit = try String(
            contentsOfFile: DaemonProcess.repo + "/systemd/waystation-uplink.service", encoding: .utf8)
        #expect(unit.contains("DynamicUser=yes"))
        #expect(unit.contains("SupplementaryGroups=waystation waystation-uplink"))
        #expect(unit.contains("CapabilityBoundingSet=\n"))
        #expect(!unit.contains("StateDirectory"), "the uplink keeps no state")
        let daemon = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.service", encoding: .utf8)
        #expect(daemon.contains("IPAddressDeny=any\n") && daemon.contains("IPAddressAllow=localhost\n"))
        let dir = try Self.units()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, output) = try await Self.run(["security", "--offline=yes", dir + "/waystation-uplink.service"])
        let line = try #require(output.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        #expect(try #require(score) <= 1.5, "\(line)")
        let users = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.sysusers", encoding: .utf8)
        #expect(users.contains("g waystation-uplink"))
    }

    @Test("sysusers and tmpfiles entries are well-formed")
    func sysusers() async throws {
        let users = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.sysusers", encoding: .utf8)
        #expect(users.contains("u waystation "))
        #expect(users.contains("g waystation-admin"))
        #expect(users.contains("g waystation-kiosk"))
        #expect(users.contains("m waystation dialout"))
        let tmp = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.tmpfiles", encoding: .utf8)
        #expect(tmp.contains("d /var/lib/waystation 0750 waystation waystation"))
    }
}
