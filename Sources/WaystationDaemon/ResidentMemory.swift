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

    /// The `r-xp` mappings of this process's own executable, from /proc/self/maps. Read as bytes:
    /// the file has a line per mapping (hundreds with thread stacks), and splitting it as Swift
    /// strings cost ~9 million instructions, a quarter of a minute's work of the running daemon.
    static func executableCodeRanges() -> [Range<UInt>] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0, let maps = try? SystemIO.readText("/proc/self/maps") else { return [] }
        let exe = buffer[..<n].map { UInt8(bitPattern: $0) }
        let bytes = Array(maps.utf8)
        var ranges: [Range<UInt>] = []
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            if let range = codeRange(bytes[start..<end], of: exe) { ranges.append(range) }
            start = end + 1
        }
        return ranges
    }

    /// The range of one maps line when it is an `r-xp` mapping of `exe`:
    /// `55b4637a1000-55b464943000 r-xp 00000000 fe:00 5530204   /usr/bin/waystationd`.
    static func codeRange(_ line: ArraySlice<UInt8>, of exe: [UInt8]) -> Range<UInt>? {
        // The path ends the line, after spaces (so not merely a suffix of another path).
        guard line.count > exe.count + 1, line.suffix(exe.count).elementsEqual(exe),
            line[line.endIndex - exe.count - 1] == 0x20,
            let space = line.firstIndex(of: 0x20), line[(space + 1)...].starts(with: "r-xp ".utf8),
            let dash = line[..<space].firstIndex(of: 0x2D),
            let lo = hex(line[..<dash]), let hi = hex(line[(dash + 1)..<space]), lo < hi
        else { return nil }
        return lo..<hi
    }

    private static func hex(_ digits: ArraySlice<UInt8>) -> UInt? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt = 0
        for d in digits {
            switch d {
            case 0x30...0x39: value = value << 4 | UInt(d - 0x30)
            case 0x61...0x66: value = value << 4 | UInt(d - 0x61 + 10)
            case 0x41...0x46: value = value << 4 | UInt(d - 0x41 + 10)
            default: return nil
            }
        }
        return value
    }
}
