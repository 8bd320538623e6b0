import Testing

@testable import WaystationDaemon

/// The /proc/self/maps reading behind the daemon's release of its start-up code pages: only the
/// executable's own `r-xp` mappings may be advised away (never data, never another file's code).
@Suite("Resident memory: which mappings are the daemon's code")
struct ResidentMemoryTests {
    static let exe = Array("/usr/bin/waystationd".utf8)

    func range(_ line: String) -> Range<UInt>? {
        ResidentMemory.codeRange(Array(line.utf8)[...], of: Self.exe)
    }

    @Test("the executable's r-xp line gives its range; data, other files and look-alike paths give none")
    func parsesMapsLines() {
        #expect(
            range("55b4637a1000-55b464943000 r-xp 00000000 fe:00 5530204   /usr/bin/waystationd")
                == 0x55b4_637a_1000..<0x55b4_6494_3000)
        #expect(range("55b464943000-55b464a00000 r--p 011a2000 fe:00 5530204   /usr/bin/waystationd") == nil)
        #expect(range("55b464a00000-55b464a10000 rw-p 0125f000 fe:00 5530204   /usr/bin/waystationd") == nil)
        #expect(range("7f0000000000-7f0000100000 r-xp 00000000 fe:00 1234      /usr/bin/xwaystationd") == nil)
        #expect(range("7f0000000000-7f0000100000 r-xp 00000000 fe:00 1234      /usr/lib/libc.so.6") == nil)
        #expect(range("7f0000100000-7f0000000000 r-xp 00000000 fe:00 1234      /usr/bin/waystationd") == nil)
        #expect(range("zz0000000000-7f0000100000 r-xp 00000000 fe:00 1234      /usr/bin/waystationd") == nil)
        #expect(range("") == nil)
    }

    @Test("in a running process the executable's code mappings are found")
    func findsOwnCode() {
        let ranges = ResidentMemory.executableCodeRanges()
        #expect(!ranges.isEmpty)
        #expect(ranges.allSatisfy { $0.count > 0 && $0.lowerBound % 4096 == 0 })
    }
}
