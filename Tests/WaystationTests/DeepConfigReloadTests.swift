import Foundation
import TestSupport
import Testing

/// Issue 25: a SIGHUP with a deeply nested config (about 50,000 levels, ~100 KB) overflowed the
/// hand-made parser's stack and killed the running daemon: polling and the interlocks stopped.
@Suite("a deep config on SIGHUP", .serialized)
struct DeepConfigReloadTests {
    @Test("each deep shape is refused on reload; the daemon keeps polling and answering")
    func deepReload() async throws {
        let station = try TestStation(tcpUnits: [1])
        let run = try await StationRun(station, waitForOnline: ["t1"])
        let daemon = run.daemon
        defer { daemon.signal(SIGTERM) }
        let good = try String(contentsOfFile: station.configPath, encoding: .utf8)
        let line = good.filter { $0 == "\n" }.count + 1
        for (round, shape) in CheckConfigTests.deepShapes.keys.sorted().enumerated() {
            let deep = try #require(CheckConfigTests.deepShapes[shape])
            try (good + deep).write(toFile: station.configPath, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try await daemon.waitFor("\(shape): reload refused") {
                daemon.log.components(separatedBy: "config reload refused").count - 1 > round
            }
            #expect(daemon.process.isRunning, "\(shape): the daemon died; log:\n\(daemon.log.suffix(2000))")
            #expect(daemon.log.contains("station.toml:\(line): invalid TOML: nested deeper than 100 levels"))
            try await run.waitForPolls("t1", cycles: 3)
            let status = try run.call("GetStatus")
            #expect(status["devices"]?.array?.count == 1, "\(status)")
            let device = try run.call("GetDevice", ["id": "t1"])
            #expect(device["device"]?["device"]?["state"]?.string == "online", "\(device)")
        }
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}
