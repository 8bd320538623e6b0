import Foundation
import TestSupport
import Testing
import WaystationCore

@Suite("Profiles and station config")
struct ConfigTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let shipped: [String] = {
        (try? FileManager.default.contentsOfDirectory(atPath: repo + "/devices"))?
            .filter { $0.hasSuffix(".toml") }.sorted() ?? []
    }()

    @Test("every shipped profile loads", arguments: shipped)
    func shippedProfile(file: String) throws {
        let profile = try ProfileLoader.load(path: Self.repo + "/devices/" + file)
        #expect(profile.name + ".toml" == file)
        #expect(!profile.points.isEmpty)
    }

    @Test("the shipped profiles cover every appliance kind the brief names")
    func kinds() throws {
        let kinds = Set(try Self.shipped.map { try ProfileLoader.load(path: Self.repo + "/devices/" + $0).kind })
        for kind in [Profile.Kind.airConditioner, .fridge, .microwave, .charger, .meter] {
            #expect(kinds.contains(kind), "no profile of kind \(kind.rawValue)")
        }
        let cabinet = try ProfileLoader.load(path: Self.repo + "/devices/charger-cabinet-4slot.toml")
        for n in 1...4 {
            for suffix in ["relay", "current", "voltage", "energy", "temp", "battery"] {
                #expect(cabinet.point(named: "slot\(n)_\(suffix)") != nil)
            }
        }
        #expect(cabinet.point(named: "smoke") != nil)
    }

    @Test("the demo station config loads with all five profiles")
    func demo() throws {
        let config = try StationConfigLoader.load(
            path: Self.repo + "/examples/demo-station.toml", extraProfilePaths: [])
        #expect(config.devices.count == 5)
        #expect(config.buses.contains { $0.isRTU } && config.buses.contains { !$0.isRTU })
        #expect(config.slots.count == 4)
    }

    static func profileErrors(_ body: String) -> [ConfigError] {
        let text = "[profile]\nname = \"p\"\nkind = \"fridge\"\n\n" + body
        switch ProfileLoader.parse(text: text, path: "/x/p.toml") {
        case .success: return []
        case .failure(let e): return e.errors
        }
    }

    @Test("profile errors name the file, the line, the key and what was expected")
    func profileErrors() {
        let unknown = Self.profileErrors(
            "[[point]]\nname = \"t\"\ntable = \"input\"\naddress = 0\ntype = \"int16\"\nscael = 0.1\n")
        #expect(unknown.count == 1)
        #expect(unknown.first?.line == 10)
        #expect(unknown.first?.description.contains("/x/p.toml:10") == true)
        #expect(unknown.first?.description.contains("'scael'") == true)
        #expect(unknown.first?.description.contains("unknown key") == true)

        let overlap = Self.profileErrors(
            "[[point]]\nname = \"a\"\ntable = \"input\"\naddress = 0\ntype = \"float32\"\n"
                + "[[point]]\nname = \"b\"\ntable = \"input\"\naddress = 1\ntype = \"int16\"\n")
        #expect(overlap.contains { $0.message.contains("overlaps point \"a\"") && $0.line == 13 })

        let limits = Self.profileErrors(
            "[[point]]\nname = \"sp\"\ntable = \"holding\"\naddress = 0\ntype = \"int16\"\nwritable = true\n")
        #expect(limits.contains { $0.message.contains("needs both min and max") })

        let badType = Self.profileErrors("[[point]]\nname = \"x\"\ntable = \"input\"\naddress = 0\ntype = \"int64\"\n")
        #expect(badType.contains { $0.key?.contains("'type'") == true && $0.message.contains("int16") })

        let far = Self.profileErrors("[[point]]\nname = \"x\"\ntable = \"input\"\naddress = 65535\ntype = \"uint32\"\n")
        #expect(far.contains { $0.message.contains("past address 65535") })

        let wrongType = Self.profileErrors(
            "[[point]]\nname = \"x\"\ntable = \"input\"\naddress = \"zero\"\ntype = \"uint16\"\n")
        #expect(wrongType.contains { $0.message.contains("expected an integer, got a string") })
    }

    @Test("the profile shape [[point]] then [point.labels], repeated, loads (the hand-made parser refused it)")
    func pointLabels() throws {
        let text =
            "[profile]\nname = \"p\"\nkind = \"fridge\"\n\n"
            + "[[point]]\nname = \"door\"\ntable = \"discrete\"\naddress = 0\ntype = \"bool\"\n"
            + "[point.labels]\n0 = \"closed\"\n1 = \"open\"\n\n"
            + "[[point]]\nname = \"mode\"\ntable = \"holding\"\naddress = 0\ntype = \"uint16\"\n"
            + "[point.labels]\n0 = \"off\"\n1 = \"cool\"\n"
        let profile = try ProfileLoader.parse(text: text, path: "/x/p.toml").get()
        #expect(profile.point(named: "door")?.labels == [0: "closed", 1: "open"])
        #expect(profile.point(named: "mode")?.labels == [0: "off", 1: "cool"])
    }

    /// Writes bytes to a temporary file and loads it as a profile.
    static func loadProfile(bytes: [UInt8]) throws -> Result<Profile, ConfigErrors> {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ws-p-\(UUID().uuidString).toml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return ProfileLoader.parse(path: path)
    }

    static let minimalProfile =
        "[profile]\nname = \"p\"\nkind = \"fridge\"\n[[point]]\nname = \"t\"\ntable = \"input\"\naddress = 0\ntype = \"int16\"\n"

    @Test("a file starting with a UTF-8 byte order mark loads (Windows editors write one)")
    func byteOrderMark() throws {
        let profile = try Self.loadProfile(bytes: [0xEF, 0xBB, 0xBF] + Array(Self.minimalProfile.utf8)).get()
        #expect(profile.points.map(\.name) == ["t"])
    }

    @Test("invalid UTF-8, a date and an oversized file are refused naming the file and line")
    func refusedFiles() throws {
        let utf8 = try Self.loadProfile(
            bytes: Array(Self.minimalProfile.utf8) + Array("unit = \"".utf8) + [0xC3, 0x28, 0x22, 0x0A])
        guard case .failure(let e) = utf8 else { Issue.record("invalid UTF-8 was accepted"); return }
        #expect(e.errors.first?.line == 9 && e.errors.first?.message.contains("invalid utf-8") == true, "\(e)")
        #expect(e.errors.first?.description.contains(".toml:9: invalid TOML") == true, "\(e)")

        let date = Self.profileErrors("[[point]]\nname = \"t\"\nsince = 2026-01-01\n")
        #expect(date.first?.line == 7, "\(date)")
        #expect(date.first?.key == "key 'point.since'", "\(date)")
        #expect(date.first?.message.contains("dates and times are not supported") == true, "\(date)")

        let big = try Self.loadProfile(bytes: Array(Self.minimalProfile.utf8) + Array(repeating: 0x0A, count: 1 << 20))
        guard case .failure(let b) = big else { Issue.record("a file over 1 MiB was accepted"); return }
        #expect(b.errors.first?.message.contains("larger than 1048576 bytes (1 MiB)") == true, "\(b)")
    }

    @Test("bad TOML reports the parser's line")
    func badTOML() {
        let errors = Self.profileErrors("[[point]\nname = 1\n")
        #expect(errors.first?.message.contains("invalid TOML") == true)
        #expect(errors.first?.line == 5)
    }
}
