import Foundation
import Testing
import WaystationProtocol
import WaystationVisits

/// Rider pseudonyms must never change: a station's stored visits are keyed by them. These values
/// were computed with swift-crypto's HMAC<SHA256> (which the daemon uses again, after a spell with a
/// SHA-256 of its own) and agree with Python's hmac module.
@Suite("Pseudonyms")
struct PseudonymTests {
    @Test("pseudonyms are HMAC-SHA256, lowercase hex, pinned across implementations")
    func pinned() {
        let key32 = Pseudonymizer(secret: Data((0..<32).map { UInt8($0) }))
        #expect(
            key32.pseudonym(exactly: "4400123456") == "b14ac702075272736ba10d5526adc876234331630f90606dd2ea4a90689a190b"
        )
        #expect(key32.pseudonym(exactly: "") == "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb")
        // A secret file longer than a SHA-256 block: the key is hashed first.
        let key100 = Pseudonymizer(secret: Data((0..<100).map { UInt8($0) }))
        #expect(
            key100.pseudonym(exactly: "+86 138-0013-8000")
                == "67935c310c4b7922c536d6721141316c30777fdcef871c4003c3b91f06288dcb")
        // Exactly one block, and a non-ASCII id (UTF-8 bytes).
        let key64 = Pseudonymizer(secret: Data(repeating: 0xa5, count: 64))
        #expect(
            key64.pseudonym(exactly: "卡 0042") == "722691392614ec78226b32f71ccdd69b808ead7fb19d3bfff1783ec20d2392d2")
    }

    @Test("rider ids are normalised before the hash: case, spaces and - _ . separators make one rider")
    func normalised() throws {
        let key32 = Pseudonymizer(secret: Data((0..<32).map { UInt8($0) }))
        // An id that was already normalised hashes exactly as before normalising existed (the stored
        // vector above): its visits and reports still match.
        #expect(
            key32.pseudonym(try RiderID("4400123456"))
                == "b14ac702075272736ba10d5526adc876234331630f90606dd2ea4a90689a190b")
        let one = key32.pseudonym(try RiderID("altc1"))
        #expect(one == key32.pseudonym(exactly: "altc1"))
        for spelling in ["ALTC1", "Altc1", "altc-1", "ALTC 1", " a.l_t-c 1 ", "A-L-T-C-1"] {
            #expect(key32.pseudonym(try RiderID(spelling)) == one, "\(spelling)")
        }
        #expect(key32.pseudonym(try RiderID("altc2")) != one)
        // A phone number's + stays (it is part of the number), its spaces and dashes go.
        #expect(try RiderID("+86 138-0013-8000").normalized == "+8613800138000")
        // Refused, with words that never repeat the id.
        for (bad, words) in [
            ("", "empty"), ("   ", "empty"), ("-- .", "no letters or digits"), ("12;34", "only letters"),
            ("卡 0042", "only letters"), (String(repeating: "7", count: 65), "longer than 64"),
        ] {
            #expect(throws: RiderIDError.self) { try RiderID(bad) }
            do {
                _ = try RiderID(bad)
            } catch {
                #expect(error.description.contains(words), "\(bad): \(error)")
            }
        }
    }

    @Test("a new station secret is 32 random bytes, mode 0600, and gives stable pseudonyms")
    func secretFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "secret-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sub/visit-secret"
        let first = try Pseudonymizer.loadOrCreate(path: path)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.count == 32)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600)
        let again = try Pseudonymizer.loadOrCreate(path: path)
        #expect(first.pseudonym(exactly: "4400123456") == again.pseudonym(exactly: "4400123456"))
        #expect(first.pseudonym(exactly: "4400123456") == Pseudonymizer(secret: bytes).pseudonym(exactly: "4400123456"))
        let other = try Pseudonymizer.loadOrCreate(path: dir + "/other/visit-secret")
        #expect(other.pseudonym(exactly: "4400123456") != first.pseudonym(exactly: "4400123456"))
    }
}
