import Foundation
import TestSupport
import Testing

@testable import WaystationDaemon

/// Memory counted as what it costs (issue 21): smaps_rollup's figures, and the heap trim that is
/// all the daemon does to give memory back (its code pages are the page cache's, left alone).
@Suite("Resident memory: anonymous and PSS, and the heap trim")
struct ResidentMemoryTests {
    @Test("smaps_rollup's Rss, Pss and Anonymous are read; a text without them gives nothing")
    func parsesRollup() throws {
        let text = """
            55d0c0a00000-7ffc3b5f6000 ---p 00000000 00:00 0                          [rollup]
            Rss:               21504 kB
            Pss:               11240 kB
            Pss_Dirty:          2716 kB
            Pss_Anon:           2660 kB
            Pss_File:           8580 kB
            Shared_Clean:      10240 kB
            Private_Dirty:      2716 kB
            Referenced:        21504 kB
            Anonymous:          2660 kB
            AnonHugePages:         0 kB
            Swap:                  0 kB
            """
        let m = try #require(ProcessMemory.parse(text))
        #expect(m == ProcessMemory(rssKiB: 21504, pssKiB: 11240, anonymousKiB: 2660, pssFileKiB: 8580))
        #expect(m.ownPssKiB == 2660)
        #expect(m.summary == "RSS 21.0 MiB, PSS 11.0 MiB, anonymous 2.6 MiB")
        #expect(ProcessMemory.parse("Rss: 12 kB\n") == nil)
        #expect(ProcessMemory.parse("") == nil)
    }

    @Test("in a running process anonymous ≤ PSS ≤ RSS")
    func ownFigures() throws {
        let m = try #require(ProcessMemory.of(getpid()))
        #expect(m.anonymousKiB > 0 && m.anonymousKiB <= m.rssKiB && m.pssKiB <= m.rssKiB)
    }

    @Test("the heap trim gives freed heap back: anonymous memory falls after 64 MiB of small blocks are freed")
    func trimGivesHeapBack() throws {
        // Small blocks come from the heap (large ones are their own mappings, unmapped by free); the
        // last one kept past the trim's reach would pin the top of the heap, so all are freed.
        let blocks = (0..<(64 << 10)).map { _ -> UnsafeMutableRawPointer? in
            let p = malloc(1000)
            if let p { memset(p, 1, 1000) }
            return p
        }
        let full = try #require(ProcessMemory.of(getpid()))
        for p in blocks { free(p) }
        ResidentMemory.trimHeap()
        let trimmed = try #require(ProcessMemory.of(getpid()))
        print("resident memory: 64 MiB of blocks: \(full.summary); freed and trimmed: \(trimmed.summary)")
        #expect(full.anonymousKiB - trimmed.anonymousKiB >= 32 << 10, "\(full.summary) → \(trimmed.summary)")
    }
}
