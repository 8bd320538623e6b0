import Foundation
import TestSupport
import Testing
import WaystationControl
import WaystationCore

/// The control socket handed over by systemd (`LISTEN_FDS`), as `waystation.socket` does, through
/// systemd's own `systemd-socket-activate`.
@Suite("Socket activation")
struct SocketActivationTests {
    @Test("the daemon serves the socket systemd passes instead of binding its own")
    func activation() async throws {
        let station = try TestStation(tcpUnits: [1])
        let passed = station.dir + "/activated.sock"
        let process = try Spawned(
            "/usr/bin/systemd-socket-activate",
            ["-l", passed, DaemonProcess.binDir + "/waystationd", "--config", station.configPath])
        defer {
            process.signal(SIGTERM)
            if process.wait(timeout: .seconds(20)) == nil { process.signal(SIGKILL) }
        }
        // The first connection starts the daemon with the listening socket as fd 3.
        var status: JSON?
        let deadline = ContinuousClock.now + .seconds(20)
        while status == nil, ContinuousClock.now < deadline {
            status = try? VarlinkClient(path: passed).call("io.waystation.Station.GetStatus")
            if status == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(status?["station"]?["id"]?.string == "test")
        // It did not bind the path from its config.
        #expect(!FileManager.default.fileExists(atPath: station.dir + "/control.sock"))
    }
}
