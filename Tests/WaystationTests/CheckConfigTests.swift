import Foundation
import TestSupport
import Testing

/// `waystationd --check-config` on good and broken configs: exit status and messages.
@Suite("waystationd --check-config")
struct CheckConfigTests {
    static let base = """
        [station]
        id = "s1"
        name = "Station"
        capacity = 4

        [storage]
        path = "station.db"

        [profiles]
        paths = ["devices"]

        [[bus]]
        name = "line"
        transport = "rtu"
        serial = "/dev/ttyUSB0"
        baud = 9600

        [[bus]]
        name = "gw"
        transport = "tcp"
        host = "127.0.0.1"
        port = 502

        [[device]]
        id = "fridge"
        profile = "good"
        bus = "line"
        unit = 3
        interval = "5s"

        """

    static let goodProfile = """
        [profile]
        name = "good"
        kind = "fridge"

        [[point]]
        name = "t"
        table = "input"
        address = 0
        type = "int16"
        scale = 0.1
        """

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var config: String
        var profile: String = CheckConfigTests.goodProfile
        /// Every string must appear in the error output.
        var expect: [String]
        var testDescription: String { name }
    }

    static let broken: [Case] = [
        Case(name: "bad TOML", config: base + "[[device]\n", expect: ["station.toml:", "invalid TOML"]),
        Case(
            name: "unknown key",
            config: base.replacingOccurrences(of: "baud = 9600", with: "baud = 9600\nbuad = 19200"),
            expect: ["station.toml:17", "'buad'", "unknown key"]),
        Case(
            name: "wrong type", config: base.replacingOccurrences(of: "capacity = 4", with: "capacity = \"four\""),
            expect: ["station.toml:4", "'capacity'", "expected an integer, got a string"]),
        Case(
            name: "missing profile",
            config: base.replacingOccurrences(of: "profile = \"good\"", with: "profile = \"nosuch\""),
            expect: ["station.toml", "'profile'", "profile \"nosuch\" not found"]),
        Case(
            name: "unknown bus", config: base.replacingOccurrences(of: "bus = \"line\"", with: "bus = \"nowhere\""),
            expect: ["station.toml:27", "'bus'", "no [[bus]] named \"nowhere\""]),
        Case(
            name: "duplicate device id",
            config: base + "[[device]]\nid = \"fridge\"\nprofile = \"good\"\nbus = \"line\"\nunit = 4\n",
            expect: ["station.toml:31", "'id'", "duplicate device id \"fridge\""]),
        Case(
            name: "bad duration", config: base.replacingOccurrences(of: "interval = \"5s\"", with: "interval = \"5\""),
            expect: ["station.toml:29", "'interval'", "expected a duration with a unit"]),
        Case(
            name: "unit id out of range", config: base.replacingOccurrences(of: "unit = 3", with: "unit = 300"),
            expect: ["station.toml:28", "'unit'", "from 1 to 247, got 300"]),
        Case(
            name: "overlapping points", config: base,
            profile: goodProfile + "\n[[point]]\nname = \"u\"\ntable = \"input\"\naddress = 0\ntype = \"uint16\"\n",
            expect: ["good.toml:14", "\"u\"", "'address'", "overlaps point \"t\""]),
        Case(
            name: "writable point without limits", config: base,
            profile: goodProfile
                + "\n[[point]]\nname = \"sp\"\ntable = \"holding\"\naddress = 1\ntype = \"int16\"\nwritable = true\n",
            expect: ["good.toml", "\"sp\"", "needs both min and max"]),
        Case(
            name: "RTU bus without serial path",
            config: base.replacingOccurrences(of: "serial = \"/dev/ttyUSB0\"\n", with: ""),
            expect: ["station.toml:12", "[[bus]] \"line\" key 'serial'", "missing"]),
        Case(
            name: "TCP port out of range", config: base.replacingOccurrences(of: "port = 502", with: "port = 70000"),
            expect: ["station.toml:22", "'port'", "from 1 to 65535, got 70000"]),
        Case(
            name: "unknown point type", config: base,
            profile: goodProfile.replacingOccurrences(of: "type = \"int16\"", with: "type = \"int64\""),
            expect: ["good.toml:9", "'type'", "expected one of bool, uint16"]),
        Case(
            name: "slot naming a missing point",
            config: base
                + "[[slot]]\nid = \"s1\"\nrelay = \"fridge.nope\"\ntemperature = \"fridge.t\"\nmax_temperature = 60\n",
            expect: ["'relay'", "has no point \"nope\""]),
    ]

    static func run(config: String, profile: String) async throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-cc-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: dir + "/devices", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try config.write(toFile: dir + "/station.toml", atomically: true, encoding: .utf8)
        try profile.write(toFile: dir + "/devices/good.toml", atomically: true, encoding: .utf8)
        return try await runDaemon(["--check-config", "--config", dir + "/station.toml"])
    }

    static func runDaemon(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Spawned.run(DaemonProcess.binDir + "/waystationd", arguments)
    }

    @Test("a good config passes and prints a summary")
    func good() async throws {
        let (status, output) = try await Self.run(config: Self.base, profile: Self.goodProfile)
        #expect(status == 0, "\(output)")
        #expect(output.contains("bus line: rtu /dev/ttyUSB0 9600 8N1, 1 device(s)"))
        #expect(output.contains("fridge: good (fridge) unit 3, 1 points, 1 read(s) every 5s"))
        #expect(output.contains("% of the line"))
        #expect(output.contains("config ok"))
    }

    @Test("every example station config passes")
    func examples() async throws {
        let dir = DaemonProcess.repo + "/examples"
        // hub.toml is the district hub's (DistrictTests loads it with the hub's loader).
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
            $0.hasSuffix(".toml") && $0 != "hub.toml"
        }
        #expect(!files.isEmpty)
        for file in files {
            let (status, output) = try await Self.runDaemon(["--check-config", "--config", dir + "/" + file])
            #expect(status == 0, "\(file): \(output)")
        }
    }

    @Test(
        "a broken config exits 78 (EX_CONFIG) naming the file, the line, the key and the problem", arguments: broken)
    func brokenConfig(_ c: Case) async throws {
        let (status, output) = try await Self.run(config: c.config, profile: c.profile)
        #expect(status == 78, "\(c.name): \(output)")
        for piece in c.expect {
            #expect(output.contains(piece), "\(c.name): missing \"\(piece)\" in:\n\(output)")
        }
    }

    /// About 50,000 levels of each shape (~100 KB): the hand-made parser overflowed its stack on them
    /// and `--check-config` died of SIGSEGV (exit 139); a SIGHUP took the running daemon down.
    static let deepShapes: [String: String] = {
        let n = 50_000
        let dotted = Array(repeating: "a", count: n).joined(separator: ".")
        return [
            "arrays": "deep = " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + "\n",
            "inline tables": "deep = " + String(repeating: "{b=", count: n) + "1" + String(repeating: "}", count: n)
                + "\n",
            "dotted keys": dotted + " = 1\n",
            "table headers": "[" + dotted + "]\n",
            "array-of-tables headers": "[[" + dotted + "]]\n",
        ]
    }()

    @Test("a deeply nested config is refused with its line, without a crash", arguments: deepShapes.keys.sorted())
    func deepConfig(shape: String) async throws {
        let deep = try #require(Self.deepShapes[shape])
        let line = Self.base.filter { $0 == "\n" }.count + 1
        let (status, output) = try await Self.run(config: Self.base + deep, profile: Self.goodProfile)
        #expect(status == 78, "\(shape): exit \(status): \(output.prefix(500))")
        #expect(
            output.contains("station.toml:\(line): invalid TOML: nested deeper than 100 levels"),
            "\(output.prefix(500))")
    }

    @Test("a config over 1 MiB is refused without being read whole")
    func hugeConfig() async throws {
        let padding = String(repeating: "# padding\n", count: 110_000)
        let (status, output) = try await Self.run(config: Self.base + padding, profile: Self.goodProfile)
        #expect(status == 78, "exit \(status)")
        #expect(output.contains("station.toml: invalid TOML: larger than"), "\(output.prefix(500))")
        #expect(output.contains("larger than 1048576 bytes (1 MiB)"), "\(output.prefix(500))")
    }

    @Test("the daemon started on a broken config exits 78 (EX_CONFIG), which its unit does not restart")
    func daemonOnBrokenConfig() async throws {
        let broken = try #require(Self.broken.first)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ws-cc-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: dir + "/devices", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try broken.config.write(toFile: dir + "/station.toml", atomically: true, encoding: .utf8)
        try Self.goodProfile.write(toFile: dir + "/devices/good.toml", atomically: true, encoding: .utf8)
        let (status, output) = try await Self.runDaemon(["--config", dir + "/station.toml"])
        #expect(status == 78, "\(output)")
        #expect(output.contains("config error"), "\(output)")
        let unit = try String(contentsOfFile: DaemonProcess.repo + "/systemd/waystation.service", encoding: .utf8)
        #expect(unit.contains("\nRestartPreventExitStatus=78\n"))
    }

    @Test("a bus that cannot keep up is warned about")
    func slowBus() async throws {
        let slow = Self.base.replacingOccurrences(of: "baud = 9600", with: "baud = 1200")
            .replacingOccurrences(of: "interval = \"5s\"", with: "interval = \"20ms\"")
        let (status, output) = try await Self.run(config: slow, profile: Self.goodProfile)
        #expect(status == 0)
        #expect(output.contains("warning: bus line") && output.contains("cannot keep up"))
    }
}
