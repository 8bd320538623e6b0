import CModbus
import Foundation
import Logging
import WaystationCore
import WaystationModbus
import WaystationPolling
import WaystationSim
import WaystationStorage
import TestSupport

extension Bench {
    /// Fault injected in the simulator (smoke in the charging cabinet) → webhook received, with the
    /// real daemon polling at a 1 s interval. `rounds` rounds (5 by default); median and worst, in ms.
    static func alertLatency(binDir: String, dir: String, rounds: Int) async throws -> (median: Double, max: Double)? {
        let devices = devicesDirectory()
        guard FileManager.default.fileExists(atPath: devices + "/charger-cabinet-4slot.toml") else {
            print("alert latency: no devices/ in the current directory or the repository; skipped")
            return nil
        }
        let receiver = try WebhookReceiver()
        let port = try freePort()
        let path = dir + "/alerts.toml"
        try """
        [station]
        id = "bench-alerts"
        name = "Alert latency"
        [storage]
        path = "alerts.db"
        [control]
        socket = "control.sock"
        [profiles]
        paths = ["\(devices)"]
        [[bus]]
        name = "gw"
        transport = "tcp"
        host = "127.0.0.1"
        port = \(port)
        [[device]]
        id = "cabinet"
        profile = "charger-cabinet-4slot"
        bus = "gw"
        unit = 1
        interval = "1s"
        [[notify]]
        kind = "webhook"
        url = "http://127.0.0.1:\(receiver.port)/hook"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: binDir + "/waystation-sim")
        sim.arguments = ["--config", path, "--no-stdin", "--control-socket", dir + "/sim.sock"]
        sim.standardError = FileHandle.nullDevice
        sim.standardOutput = FileHandle.nullDevice
        try sim.run()
        defer { sim.terminate() }
        try await waitForPort(port)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: binDir + "/waystationd")
        daemon.arguments = ["--config", path, "--log-level", "error"]
        daemon.standardError = FileHandle.nullDevice
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        defer { daemon.terminate() }
        // The webhook leaves through waystation-uplink (the daemon hands it over its socket).
        let uplink = Process()
        uplink.executableURL = URL(fileURLWithPath: binDir + "/waystation-uplink")
        uplink.arguments = ["--config", path, "--log-level", "error"]
        uplink.standardError = FileHandle.nullDevice
        uplink.standardOutput = FileHandle.nullDevice
        try uplink.run()
        defer { uplink.terminate() }
        try await Task.sleep(for: .seconds(3))

        func smokeDeliveries(_ status: String) -> [ContinuousClock.Instant] {
            receiver.requests.compactMap { r in
                guard let j = JSON.parse(r.body), j["status"]?.string == status,
                    j["alerts"]?.array?.first?["labels"]?["alertname"]?.string == "CabinetSmoke"
                else { return nil }
                return r.at
            }
        }
        var samples: [Double] = []
        for round in 0..<rounds {
            // Inject at a random phase of the poll interval.
            try await Task.sleep(for: .milliseconds(Int64.random(in: 0...1000)))
            let before = smokeDeliveries("firing").count
            let t0 = ContinuousClock.now
            try simCommand(dir + "/sim.sock", "set cabinet smoke 1")
            let deadline = t0 + .seconds(15)
            while smokeDeliveries("firing").count == before, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            guard let at = smokeDeliveries("firing").last, smokeDeliveries("firing").count > before else {
                print("alert latency: round \(round) got no webhook within 15 s")
                continue
            }
            samples.append((at - t0).seconds * 1000)
            let resolved = smokeDeliveries("resolved").count
            try simCommand(dir + "/sim.sock", "set cabinet smoke 0")
            while smokeDeliveries("resolved").count == resolved, ContinuousClock.now < deadline + .seconds(15) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return (sorted[sorted.count / 2], sorted[sorted.count - 1])
    }

    static func simCommand(_ socketPath: String, _ command: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let ok = try UnixSocketAddress.with(socketPath) { connect(fd, $0, $1) == 0 }
        guard ok else { throw CocoaError(.fileReadNoSuchFile) }
        let line = Array((command + "\n").utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer = [UInt8](repeating: 0, count: 256)
        _ = read(fd, &answer, answer.count)
    }
}
