import CShim
import WaystationProtocol

#if canImport(Glibc)
import Glibc
#endif

/// What the daemon keeps resident (issue 15: a small board's memory). Start-up — parsing the
/// config and profiles, migrations, the first connections, the Swift runtime's first type look-ups —
/// runs code that is not needed again, and the kernel keeps it mapped: about half of the resident
/// set of a fresh daemon is its own code touched once. Once running, the daemon gives those pages
/// back; what it still runs comes back from the page cache on first use (clean pages of the binary,
/// no I/O). Free heap left over by start-up goes back to the system the same way.
public enum ResidentMemory {
    /// At most two malloc arenas (glibc would make one per thread allocating at the same time, up to
    /// eight per core); call before other threads start.
    public static func limitArenas() {
        _ = ws_malloc_arena_max(2)
    }

    /// Gives back free heap and the resident pages of the daemon's own code. Returns the bytes of
    /// code mappings advised, or 0 when none was found (the binary's path is not readable).
    @discardableResult
    public static func releaseStartupPages() -> Int {
        _ = ws_malloc_trim()
        var released = 0
        for range in executableCodeRanges() {
            // Only the read-only, executable mapping of the binary itself: its pages are never
            // written (no text relocations), so dropping them loses nothing.
            if madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), range.count, MADV_DONTNEED) == 0 {
                released += range.count
            }
        }
        return released
    }

    /// The `r-xp` mappings of this process's own executable, from /proc/self/maps.
    static func executableCodeRanges() -> [Range<UInt>] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0, let maps = try? SystemIO.readText("/proc/self/maps") else { return [] }
        let exe = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var ranges: [Range<UInt>] = []
        for line in maps.split(separator: "\n") {
            // 55b4637a1000-55b464943000 r-xp 00000000 fe:00 5530204   /usr/bin/waystationd
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1] == "r-xp", fields[5].trimmingWhitespace() == exe else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let lo = UInt(bounds[0], radix: 16), let hi = UInt(bounds[1], radix: 16), lo < hi
            else { continue }
            ranges.append(lo..<hi)
        }
        return ranges
    }
}
