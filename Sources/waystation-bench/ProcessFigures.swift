import Foundation

/// What /proc says about another process at one moment: CPU time, bytes written, memory.
struct ProcessFigures {
    /// utime + stime of every thread, live and exited (/proc/PID/stat fields 14 and 15), in seconds.
    var cpuSeconds: Double
    /// utime alone: CPU time in user space.
    var userSeconds: Double
    /// Bytes the process caused to be sent to the storage layer (`write_bytes` in /proc/PID/io):
    /// page-cache pages it dirtied, what reaches the flash.
    var writeBytes: Int64
    /// Bytes it handed to write(2) and friends (`wchar`), whatever the file system did with them.
    var wchar: Int64
    /// VmRSS and VmHWM (peak RSS) from /proc/PID/status, in KiB.
    var rssKiB: Int64
    var hwmKiB: Int64

    /// Reads the figures; nil when the process is gone or /proc cannot be read.
    static func read(pid: pid_t) -> ProcessFigures? {
        guard let stat = procFile("/proc/\(pid)/stat"), let io = procFile("/proc/\(pid)/io"),
            let status = procFile("/proc/\(pid)/status"),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3, so utime (14) and stime (15) are the 12th and 13th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ProcessFigures(
            cpuSeconds: (utime + stime) / max(ticks, 1), userSeconds: utime / max(ticks, 1),
            writeBytes: field(io, "write_bytes:") ?? 0, wchar: field(io, "wchar:") ?? 0,
            rssKiB: field(status, "VmRSS:") ?? 0, hwmKiB: field(status, "VmHWM:") ?? 0)
    }

    /// A /proc file read to its end with read(2): its size is 0 to stat, and one read gives a page.
    static func procFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The number after `key` on its line ("VmRSS:   1234 kB" → 1234).
    static func field(_ text: String, _ key: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let rest = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            return rest.first.flatMap { Int64($0) }
        }
        return nil
    }

    /// Whether `path` is on tmpfs, where `write_bytes` stays 0 and the flash figures mean nothing.
    /// (The file system of the longest mount point in /proc/mounts that contains it.)
    static func isTmpfs(_ path: String) -> Bool {
        guard let mounts = procFile("/proc/mounts") else { return false }
        let target = (path.hasSuffix("/") ? path : path + "/")
        var best = (length: -1, type: "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2 else { continue }
            let point = fields[1].hasSuffix("/") ? String(fields[1]) : fields[1] + "/"
            if target.hasPrefix(point), point.count > best.length { best = (point.count, String(fields[2])) }
        }
        return best.type == "tmpfs" || best.type == "ramfs"
    }

    static func fileSize(_ path: String) -> Int64 {
        var s = stat()
        return stat(path, &s) == 0 ? Int64(s.st_size) : 0
    }
}

/// The change in a process's figures over a measured window, scaled to the rates the issue uses.
struct WindowFigures {
    var seconds: Double
    var cpuSeconds: Double
    var userSeconds: Double
    var writeBytes: Int64
    var wchar: Int64
    var requests: Int

    /// What a process did between two readings `seconds` apart, in which `requests` were served.
    init(from before: ProcessFigures, to after: ProcessFigures, seconds: Double, requests: Int) {
        self.seconds = seconds
        cpuSeconds = after.cpuSeconds - before.cpuSeconds
        userSeconds = after.userSeconds - before.userSeconds
        writeBytes = after.writeBytes - before.writeBytes
        wchar = after.wchar - before.wchar
        self.requests = requests
    }

    var cpuSecondsPerHour: Double { cpuSeconds / max(seconds, 1e-9) * 3600 }
    var bytesPerDay: Double { Double(writeBytes) / max(seconds, 1e-9) * 86400 }
    var wcharPerDay: Double { Double(wchar) / max(seconds, 1e-9) * 86400 }
    var requestsPerSecond: Double { Double(requests) / max(seconds, 1e-9) }
    /// CPU seconds per Modbus request (0 when there were none).
    var cpuPerRequest: Double { requests > 0 ? cpuSeconds / Double(requests) : 0 }
    /// The user-space part of the CPU time (0…1).
    var userShare: Double { cpuSeconds > 0 ? userSeconds / cpuSeconds : 0 }
    /// Share of one core, in percent.
    var cpuPercent: Double { cpuSeconds / max(seconds, 1e-9) * 100 }
}
