import CShim

/// What the daemon keeps resident (issue 15: a small board's memory), counted as what it costs
/// (issue 21): anonymous memory — heap and stacks, which nothing but the daemon can give back — and
/// PSS. The clean pages of the binary and the libraries are the page cache's, shared and dropped by
/// the kernel under pressure; the daemon leaves them alone (releasing its own code pages made the next
/// pass through the interlock fault them back in, and the cgroup's count did not drop).
public enum ResidentMemory {
    /// At most two malloc arenas (glibc would make one per thread allocating at the same time, up to
    /// eight per core); call before other threads start.
    public static func limitArenas() {
        _ = ws_malloc_arena_max(2)
    }

    /// Gives free heap back to the system (what start-up, a reload or a burst of clients left over).
    /// Returns whether some was released.
    @discardableResult
    public static func trimHeap() -> Bool {
        ws_malloc_trim() == 1
    }
}
