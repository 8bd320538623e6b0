import Foundation
import TestSupport
import WaystationCore

/// The 3-device station of issue 15, built from the shipped profiles in `devices/`: an AC gateway
/// and an energy meter over Modbus TCP (one endpoint each, as an Intesis gateway and an RS-485→TCP
/// gateway are), a fridge controller over RTU on the simulator's socat pty pair; 21 points, all at
/// 1 s, one value changing.
///
/// - `ac-intesis-midea` (12 holding registers) and `fridge-basic` (an input register, a holding
///   register, two discrete inputs) as shipped.
/// - `bench-meter-sdm120`: the shipped `meter-sdm120` cut to its 5 live readings (voltage, current,
///   power, frequency, import energy), made from the shipped file at run time.
///
/// A cut profile rather than per-point `interval`s: with intervals the other 8 meter points would
/// still be read (every minute, on their own schedule), which collectd — one interval per Host —
/// cannot express, so the two pollers would not make the same reads; a subset keeps every point on
/// one 1 s schedule in both.
///
/// The simulator's physics moves several values; all but the meter's active power (a random walk of
/// ±15 W/s against a 5 W deadband: a new stored value most seconds) are pinned with `hold`, so one
/// value changes and the rest are steady, as in the measurement.
struct BenchStation {
    let dir: String
    let configPath: String
    let simSocket: String
    let config: StationConfig

    static let meterPoints = ["voltage", "current", "power", "frequency", "import_energy"]
    /// (device, point, value) pinned in the simulator; the meter's `power` is left to move.
    static let holds: [(String, String, Double)] = [
        ("ac", "room_temp", 26), ("fridge", "cabinet_temp", 5), ("fridge", "compressor", 0),
        ("meter", "voltage", 230), ("meter", "current", 3.66), ("meter", "import_energy", 1234.5),
    ]
    static let pointCount = 21

    /// Writes the profiles and the config into `dir` and loads them.
    /// - Parameters:
    ///   - repoDevices: the repository's `devices/` (the shipped profiles).
    ///   - webhook: URL of the webhook receiver the notifier posts to.
    init(dir: String, repoDevices: String, webhook: String) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir + "/devices", withIntermediateDirectories: true)
        let meter = try Self.cutProfile(
            String(contentsOfFile: repoDevices + "/meter-sdm120.toml", encoding: .utf8), name: "bench-meter-sdm120",
            keeping: Set(Self.meterPoints))
        try meter.write(toFile: dir + "/devices/bench-meter-sdm120.toml", atomically: true, encoding: .utf8)
        let acPort = try LoopbackPort.free()
        let meterPort = try LoopbackPort.free()
        configPath = dir + "/station.toml"
        simSocket = dir + "/sim.sock"
        try """
        # The 3-device station of issue 15 (written by waystation-bench).
        [station]
        id = "bench-3dev"
        name = "Bench: AC, fridge, meter"
        capacity = 12

        [storage]
        path = "station.db"

        [control]
        socket = "control.sock"

        [profiles]
        paths = ["devices", "\(repoDevices)"]

        [[bus]]
        name = "ac-gw"
        transport = "tcp"
        host = "127.0.0.1"
        port = \(acPort)
        timeout = "1s"

        [[bus]]
        name = "meter-gw"
        transport = "tcp"
        host = "127.0.0.1"
        port = \(meterPort)
        timeout = "1s"

        [[bus]]
        name = "rs485"
        transport = "rtu"
        serial = "ttyWS0"
        baud = 9600
        parity = "none"
        data_bits = 8
        stop_bits = 1
        timeout = "500ms"

        [[device]]
        id = "ac"
        profile = "ac-intesis-midea"
        bus = "ac-gw"
        unit = 1
        interval = "1s"

        [[device]]
        id = "meter"
        profile = "bench-meter-sdm120"
        bus = "meter-gw"
        unit = 2
        interval = "1s"

        [[device]]
        id = "fridge"
        profile = "fridge-basic"
        bus = "rs485"
        unit = 3
        interval = "1s"

        [[notify]]
        kind = "webhook"
        url = "\(webhook)"

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        config = try StationConfigLoader.load(path: configPath, extraProfilePaths: [])
        let points = config.devices.reduce(0) { $0 + $1.profile.points.count }
        guard points == Self.pointCount else {
            throw BenchError("the bench station has \(points) points, expected \(Self.pointCount); devices/ changed?")
        }
    }

    /// Pins every simulated value but the one that changes.
    func holdSteadyValues(_ sim: SimProcess) async throws {
        for (device, point, value) in Self.holds {
            _ = try await sim.command("hold \(device) \(point) \(value)")
        }
    }

    /// A profile's text with only the named `[[point]]` blocks (and every other block) kept, and its
    /// `[profile] name` replaced.
    static func cutProfile(_ text: String, name: String, keeping: Set<String>) throws -> String {
        var blocks: [[Substring]] = [[]]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("[") { blocks.append([]) }
            blocks[blocks.count - 1].append(line)
        }
        var kept: [Substring] = []
        var found = Set<String>()
        for block in blocks {
            guard let head = block.first else { continue }
            if head.hasPrefix("[[point]]") {
                let pointName = block.lazy.compactMap { line -> String? in
                    let parts = line.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "name" else { return nil }
                    return parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: ["\""])
                }.first
                guard let pointName, keeping.contains(pointName) else { continue }
                found.insert(pointName)
                kept += block
            } else if head.hasPrefix("[profile]") {
                kept += block.map { $0.hasPrefix("name ") || $0.hasPrefix("name=") ? "name = \"\(name)\"" : $0 }
            } else {
                kept += block
            }
        }
        guard found == keeping else {
            throw BenchError("profile cut: points \(keeping.subtracting(found).sorted()) not found")
        }
        return "# Cut from the shipped profile by waystation-bench.\n" + kept.joined(separator: "\n")
    }
}
