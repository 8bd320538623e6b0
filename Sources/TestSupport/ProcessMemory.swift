import Foundation

/// What a process costs in memory, from /proc/PID/smaps_rollup (issue 21): `anonymous` is its
/// own heap and stacks, which only it can give back; `pss` counts shared pages (libraries, the
/// binary's text) by the share of the processes mapping them; `rss` counts them whole. In KiB.
public struct ProcessMemory: Sendable, Equatable {
    public var rssKiB: Int64
    public var pssKiB: Int64
    public var anonymousKiB: Int64
    /// The file pages' share of `pss` (`Pss_File`, 0 when the kernel does not say): it moves when
    /// other processes mapping the same files start or exit.
    public var pssFileKiB: Int64

    public init(rssKiB: Int64, pssKiB: Int64, anonymousKiB: Int64, pssFileKiB: Int64 = 0) {
        self.rssKiB = rssKiB
        self.pssKiB = pssKiB
        self.anonymousKiB = anonymousKiB
        self.pssFileKiB = pssFileKiB
    }

    /// PSS less the file pages' share: what of it the process alone decides.
    public var ownPssKiB: Int64 { pssKiB - pssFileKiB }

    /// The figures of a running process; nil when it is gone or /proc cannot be read.
    public static func of(_ pid: pid_t) -> ProcessMemory? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
        return parse(text)
    }

    /// Parses smaps_rollup's text ("Rss:  1234 kB" lines).
    public static func parse(_ text: String) -> ProcessMemory? {
        var values: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, parts[0].hasSuffix(":"), let n = Int64(parts[1]) else { continue }
            values[String(parts[0].dropLast())] = n
        }
        guard let rss = values["Rss"], let pss = values["Pss"], let anonymous = values["Anonymous"] else { return nil }
        return ProcessMemory(rssKiB: rss, pssKiB: pss, anonymousKiB: anonymous, pssFileKiB: values["Pss_File"] ?? 0)
    }

    /// "RSS 21.3 MiB, PSS 11.0 MiB, anonymous 2.6 MiB".
    public var summary: String {
        func mib(_ k: Int64) -> String { String(format: "%.1f MiB", Double(k) / 1024) }
        return "RSS \(mib(rssKiB)), PSS \(mib(pssKiB)), anonymous \(mib(anonymousKiB))"
    }
}

/// How often a process's threads went to sleep: the sum of `voluntary_ctxt_switches` of every
/// thread (/proc/PID/task/*/status). Each sleep is followed by a wake-up, so the difference between
/// two readings counts the wake-ups in between (threads that ended meanwhile drop out: compare
/// thread by thread with `perThread`).
public enum WakeUps {
    /// Voluntary context switches by thread id, with the thread's name.
    public static func perThread(_ pid: pid_t) -> [Int: (name: String, count: Int)] {
        var result: [Int: (name: String, count: Int)] = [:]
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else {
            return result
        }
        for entry in entries {
            guard let tid = Int(entry),
                let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(entry)/status", encoding: .utf8)
            else { continue }  // a thread that ended meanwhile
            var name = ""
            var count = 0
            for line in status.split(separator: "\n") {
                if line.hasPrefix("Name:") { name = line.dropFirst(5).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("voluntary_ctxt_switches:") {
                    count = Int(line.dropFirst(24).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            result[tid] = (name, count)
        }
        return result
    }

    /// Wake-ups between two readings of `perThread` (threads born meanwhile count from zero).
    /// Without `manager`, libdispatch's manager thread ("…overcommit") is left out: it wakes once a
    /// second in any Swift program, on its own timer.
    public static func between(
        _ before: [Int: (name: String, count: Int)], _ after: [Int: (name: String, count: Int)],
        manager: Bool = true
    ) -> Int {
        after.filter { manager || !$0.value.name.hasSuffix("overcommit") }
            .reduce(0) { $0 + max(0, $1.value.count - (before[$1.key]?.count ?? 0)) }
    }
}
