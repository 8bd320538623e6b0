import Foundation
import Testing
import WaystationVisits

/// Rider pseudonyms must never change: a station's stored visits are keyed by them. These values
/// were computed with the swift-crypto HMAC<SHA256> the daemon used before its own SHA-256 (and
/// agree with Python's hmac module).
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

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("SHA-256: the FIPS 180-2 examples")
    func sha256() {
        #expect(
            Self.hex(SHA256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Self.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            Self.hex(SHA256.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Fed in pieces across block boundaries: the same digest.
        var h = SHA256()
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        for piece in stride(from: 0, to: message.count, by: 7) {
            h.update(message[piece..<min(piece + 7, message.count)])
        }
        #expect(Self.hex(h.finalize()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("HMAC-SHA-256: every RFC 4231 test case")
    func hmac() {
        let long = [UInt8](repeating: 0xaa, count: 131)
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            // Test case 5 gives only the first 128 bits.
            (
                [UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8),
                "a3b6167473100ee06e0c796c2955552b"
            ),
            (
                long, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                long,
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ]
        for (i, c) in cases.enumerated() {
            let mac = Self.hex(HMACSHA256(key: c.key).authenticationCode(for: c.data))
            #expect(mac.hasPrefix(c.mac), "RFC 4231 test case \(i + 1)")
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
        #expect(first.pseudonym("4400123456") == again.pseudonym("4400123456"))
        #expect(first.pseudonym("4400123456") == Pseudonymizer(secret: bytes).pseudonym("4400123456"))
        let other = try Pseudonymizer.loadOrCreate(path: dir + "/other/visit-secret")
        #expect(other.pseudonym("4400123456") != first.pseudonym("4400123456"))
    }
}
