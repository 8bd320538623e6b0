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

    @Test("bad TOML reports the parser's line")
    func badTOML() {
        let errors = Self.profileErrors("[[point]\nname = 1\n")
        #expect(errors.first?.message.contains("invalid TOML") == true)
        #expect(errors.first?.line == 5)
    }
}
