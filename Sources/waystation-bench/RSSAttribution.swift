import Foundation
import TestSupport

/// Where a process's resident memory is: the `Rss` of every mapping in /proc/PID/smaps, summed by
/// what the mapping is (the program, a library family, heap, thread stacks, other anonymous memory).
struct RSSAttribution {
    /// Classes in the order they are printed, with what each holds.
    static let classes: [(key: String, what: String)] = [
        ("binary", "the executable's own text and data"),
        ("swiftcore", "libswiftCore"),
        ("swift_runtime", "other Swift runtime libraries (Concurrency, Dispatch, …)"),
        ("foundation", "libFoundation, FoundationEssentials, FoundationInternationalization"),
        ("icu", "ICU code and data (lib_FoundationICU)"),
        ("foundation_networking", "libFoundationNetworking"),
        ("curl_tls", "libcurl and the TLS/Kerberos/LDAP libraries only it needs"),
        ("sqlite", "libsqlite3"),
        ("modbus", "libmodbus"),
        ("other_libs", "libc, libstdc++ and other shared libraries"),
        ("heap", "[heap] and glibc malloc arenas"),
        ("thread_stacks", "stacks of the main thread and of threads found blocked in a syscall"),
        ("anonymous", "other anonymous memory"),
        ("other", "other file mappings (SQLite -shm, locale files) and [vdso]/[vvar]"),
    ]

    var kiB: [String: Int64] = [:]
    var totalKiB: Int64 { kiB.values.reduce(0, +) }

    struct Mapping {
        var start: UInt64
        var end: UInt64
        var perms: Substring
        var path: String
        var rssKiB: Int64
    }

    /// Reads /proc/PID/smaps and classifies every mapping; nil when it cannot be read.
    static func measure(pid: pid_t) async -> RSSAttribution? {
        guard let text = ProcessFigures.procFile("/proc/\(pid)/smaps") else { return nil }
        let mappings = parse(text)
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        let stackPointers = threadStackPointers(pid: pid)
        let curlOnly = await curlOnlyLibraries(mappings)
        var result = RSSAttribution()
        for m in mappings {
            let key = classify(m, exe: exe, stackPointers: stackPointers, curlOnly: curlOnly)
            result.kiB[key, default: 0] += m.rssKiB
        }
        return result
    }

    static func parse(_ text: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Rss:") {
                guard !mappings.isEmpty else { continue }
                let value = line.dropFirst(4).split(separator: " ").first.flatMap { Int64($0) } ?? 0
                mappings[mappings.count - 1].rssKiB = value
                continue
            }
            // A header: "start-end perms offset dev inode [path]"; field lines start with a capital.
            guard let first = line.first, first.isNumber || ("a"..."f").contains(first) else { continue }
            let parts = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            let range = parts.first?.split(separator: "-") ?? []
            guard parts.count >= 5, range.count == 2, let start = UInt64(range[0], radix: 16),
                let end = UInt64(range[1], radix: 16)
            else { continue }
            let path = parts.count > 5 ? parts[5].trimmingCharacters(in: .whitespaces) : ""
            mappings.append(Mapping(start: start, end: end, perms: parts[1], path: path, rssKiB: 0))
        }
        return mappings
    }

    /// Stack pointers of the threads blocked in a system call (/proc/PID/task/TID/syscall: "nr
    /// args… sp pc"); each falls inside that thread's stack mapping. Needs ptrace access (root).
    static func threadStackPointers(pid: pid_t) -> [UInt64] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { tid in
            guard let text = ProcessFigures.procFile("/proc/\(pid)/task/\(tid)/syscall") else { return nil }
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard words.count >= 3 else { return nil }
            return UInt64(words[words.count - 2].dropFirst(2), radix: 16)
        }
    }

    /// Libraries libcurl pulls in that nothing else mapped needs: libcurl's `ldd` closure minus the
    /// closures of Foundation, the Swift core, SQLite and libmodbus. Real paths, as smaps shows them.
    static func curlOnlyLibraries(_ mappings: [Mapping]) async -> Set<String> {
        func mapped(_ prefix: String) -> String? {
            mappings.first { ($0.path as NSString).lastPathComponent.hasPrefix(prefix) }?.path
        }
        guard let curl = mapped("libcurl") else { return [] }
        var needed = Set<String>()
        for library in ["libFoundation.so", "libswiftCore.so", "libsqlite3", "libmodbus"] {
            if let path = mapped(library) { needed.formUnion(await lddPaths(path)) }
        }
        return (await lddPaths(curl)).subtracting(needed).union([curl])
    }

    /// Real paths of the libraries `ldd` lists for `path` ("name => /path (0x…)").
    static func lddPaths(_ path: String) async -> Set<String> {
        guard let (status, output) = try? await Spawned.run("/usr/bin/ldd", [path], timeout: .seconds(20)),
            status == 0
        else { return [] }
        var paths = Set<String>()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let target = words.first(where: { $0.hasPrefix("/") }) else { continue }
            paths.insert(realPath(String(target)))
        }
        return paths
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func classify(_ m: Mapping, exe: String, stackPointers: [UInt64], curlOnly: Set<String>) -> String {
        let name = (m.path as NSString).lastPathComponent
        if !exe.isEmpty, m.path == exe { return "binary" }
        if name.hasPrefix("libswiftCore.so") { return "swiftcore" }
        if name.hasPrefix("libFoundationNetworking") { return "foundation_networking" }
        if name.hasPrefix("lib_FoundationICU") || name.hasPrefix("libicu") { return "icu" }
        if name.hasPrefix("libFoundation") || name.hasPrefix("lib_Foundation") { return "foundation" }
        if name.hasPrefix("libswift") || name.hasPrefix("libdispatch") || name.hasPrefix("libBlocksRuntime") {
            return "swift_runtime"
        }
        if name.hasPrefix("libsqlite3") { return "sqlite" }
        if name.hasPrefix("libmodbus") { return "modbus" }
        if curlOnly.contains(m.path) { return "curl_tls" }
        if m.path == "[heap]" { return "heap" }
        if m.path == "[stack]" || stackPointers.contains(where: { $0 >= m.start && $0 < m.end }) {
            return "thread_stacks"
        }
        if m.path.isEmpty {
            // glibc's secondary malloc arenas are 64 MiB-aligned anonymous heaps.
            return m.start % (64 << 20) == 0 && m.perms.hasPrefix("rw") ? "heap" : "anonymous"
        }
        if name.contains(".so") { return "other_libs" }
        return "other"
    }

    func mib(_ key: String) -> Double { Double(kiB[key] ?? 0) / 1024 }

    /// The table printed by the bench.
    func table(title: String) -> String {
        var lines = [title]
        for (key, what) in Self.classes {
            let v = mib(key)
            lines.append(
                "  " + key.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(format: "%7.2f MiB  ", v) + what)
        }
        lines.append(
            "  " + "total".padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%7.2f MiB", Double(totalKiB) / 1024))
        return lines.joined(separator: "\n")
    }
}
