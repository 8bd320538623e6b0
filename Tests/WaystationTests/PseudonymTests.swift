import Foundation
import Testing
import WaystationVisits

/// Rider pseudonyms must never change: a station's stored visits are keyed by them. These values
/// were computed with the swift-crypto HMAC<SHA256> the daemon used before its own SHA-256.
@Suite("Pseudonyms")
struct PseudonymTests {
    @Test("pseudonyms are HMAC-SHA256, lowercase hex, pinned across implementations")
    func pinned() {
        let key32 = Pseudonymizer(secret: Data((0..<32).map { UInt8($0) }))
        #expect(key32.pseudonym("4400123456") == "b14ac702075272736ba10d5526adc876234331630f90606dd2ea4a90689a190b")
        #expect(key32.pseudonym("") == "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb")
        // A secret file longer than a SHA-256 block: the key is hashed first.
        let key100 = Pseudonymizer(secret: Data((0..<100).map { UInt8($0) }))
        #expect(
            key100.pseudonym("+86 138-0013-8000") == "67935c310c4b7922c536d6721141316c30777fdcef871c4003c3b91f06288dcb")
        // Exactly one block, and a non-ASCII id (UTF-8 bytes).
        let key64 = Pseudonymizer(secret: Data(repeating: 0xa5, count: 64))
        #expect(key64.pseudonym("卡 0042") == "722691392614ec78226b32f71ccdd69b808ead7fb19d3bfff1783ec20d2392d2")
    }
}
