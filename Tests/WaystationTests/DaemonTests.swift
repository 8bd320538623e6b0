import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationPolling

/// The real daemon binary against the simulator: systemd notification, reload, shutdown.
@Suite("waystationd lifecycle", .serialized)
struct DaemonTests {
    @Test("READY, watchdog while healthy, SIGHUP adds a device, a bad SIGHUP is refused, SIGTERM exits 0")
    func lifecycle() async throws {
        let station = try TestStation(tcpUnits: [1, 2])
        // Start with only t1 configured in the daemon's copy of the config.
        let full = try String(contentsOfFile: station.configPath, encoding: .utf8)
        let parts = full.components(separatedBy: "[[device]]")
        let oneDevice = parts[0] + "[[device]]" + parts[1]
        let daemonConfig = station.dir + "/daemon.toml"
        try oneDevice.write(toFile: daemonConfig, atomically: true, encoding: .utf8)

        let daemon = try DaemonProcess(config: daemonConfig, dir: station.dir, watchdogUsec: 1_000_000)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        try await daemon.waitFor("3 watchdog pings") { daemon.count("WATCHDOG=1") >= 3 }
        try await daemon.waitFor("t1 polled") { try station.simulator.servedCount(device: "t1") > 3 }
        #expect(try station.simulator.servedCount(device: "t2") == 0)
        #expect(daemon.notifications.contains { $0.hasPrefix("STATUS=") || $0.contains("\nSTATUS=") })

        // SIGHUP with a changed config: the new device is polled.
        try full.write(toFile: daemonConfig, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await daemon.waitFor("RELOADING=1") {
            daemon.notifications.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }
        }
        try await daemon.waitFor("t2 polled after reload") { try station.simulator.servedCount(device: "t2") > 3 }
        #expect(daemon.count("READY=1") >= 2)

        // SIGHUP with a broken config: refused, logged, and polling goes on.
        try (full + "\n[[device]]\nid = \"broken\"\nprofile = \"testdev\"\nbus = \"nowhere\"\nunit = 9\n")
            .write(toFile: daemonConfig, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await daemon.waitFor("reload refused in the log") { daemon.log.contains("config reload refused") }
        #expect(daemon.log.contains("no [[bus]] named \\\"nowhere\\\"") || daemon.log.contains("nowhere"))
        let before = try station.simulator.servedCount(device: "t1")
        try await daemon.waitFor("polling goes on") { try station.simulator.servedCount(device: "t1") > before + 3 }
        #expect(daemon.process.isRunning)
        let pings = daemon.count("WATCHDOG=1")
        try await daemon.waitFor("watchdog still pinged") { daemon.count("WATCHDOG=1") > pings }

        // SIGTERM: STOPPING=1, exit 0, and the database is intact.
        daemon.signal(SIGTERM)
        let status = try await daemon.waitForExit()
        #expect(status == 0, "daemon log:\n\(daemon.log)")
        #expect(daemon.count("STOPPING=1") == 1)
        let store = HistoryStore(database: try openDatabase(station.dir + "/station.db"))
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.valueCount(device: "t1", point: "u16") >= 1)
    }

    @Test("a dead bus is not a hung daemon: watchdog pings go on")
    func watchdogWithheld() async throws {
        // No simulator answers at this port; connects fail fast, so the loop still goes round and
        // pings continue: a dead device is not a hung daemon.
        let station = try TestStation(tcpUnits: [1])
        station.simulator.stop()
        let daemon = try DaemonProcess(config: station.configPath, dir: station.dir, watchdogUsec: 1_000_000)
        try await daemon.waitFor("READY=1") { daemon.count("READY=1") >= 1 }
        try await daemon.waitFor("pings despite dead devices") { daemon.count("WATCHDOG=1") >= 3 }
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    @Test("a notify socket nobody reads (its queue full) stalls nothing: polling, control and SIGTERM go on")
    func notifyReceiverNotReading() async throws {
        let station = try TestStation(tcpUnits: [1])
        // A receiver that never reads: after a few pings its queue is full and a blocking send
        // would hang the thread that sends (a pool thread: enough of them and the daemon stops).
        let deaf = station.dir + "/deaf.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        #expect(try UnixSocketAddress.with(deaf) { bind(fd, $0, $1) } == 0)
        let daemon = try DaemonProcess(
            config: station.configPath, dir: station.dir, watchdogUsec: 40_000, environment: ["NOTIFY_SOCKET": deaf])
        try await daemon.waitFor("the deaf receiver's queue full") { try Self.isFull(deaf) }
        let sim = station.simulator
        let before = try sim.servedCount(device: "t1")
        try await daemon.waitFor("polling goes on with the notify socket full", within: .seconds(20)) {
            try sim.servedCount(device: "t1") >= before + 10
        }
        let status = try VarlinkClient(path: station.dir + "/control.sock").call("io.waystation.Station.GetStatus")
        #expect(status["devices"]?.array?.count == 1, "the control socket answers")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }

    /// Whether a datagram socket's receive queue is full: a send that may not wait is refused.
    static func isFull(_ path: String) throws -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        let sent = try UnixSocketAddress.with(path) { sa, length in
            sendto(fd, "x", 1, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), sa, length)
        }
        return sent < 0 && errno == EAGAIN
    }
}
