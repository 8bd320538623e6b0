import Foundation
import TestSupport
import Testing
import WaystationCore
import WaystationStorage

/// Notification targets that misbehave, against the real daemon: a receiver that accepts and never
/// answers, one that refuses a notification for good, and programs that close stdin or hang.
@Suite("Notification targets that misbehave (real daemon)", .serialized)
struct NotifyFaultTests {
    static func run(_ notify: String) async throws -> StationRun {
        let station = try TestStation(
            tcpUnits: [1], extraProfiles: ["fridge-basic": try shippedProfile("fridge-basic")],
            extraConfig: """
                [[device]]
                id = "fridge"
                profile = "fridge-basic"
                bus = "tcp"
                unit = 3
                interval = "200ms"

                [[alert]]
                name = "FridgeDoorOpen"
                device = "fridge"
                when = "door_open"

                """ + notify)
        return try await StationRun(station, waitForOnline: ["fridge"])
    }

    /// The station with one webhook target, `hook`, posting to `receiver`, and the fridge's door
    /// opened.
    static func run(webhook receiver: WebhookReceiver) async throws -> StationRun {
        let r = try await run(
            "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nurl = \"http://127.0.0.1:\(receiver.port)/h\"\n")
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        return r
    }

    /// Attempts made so far per target for the outbox rows (read from the real database file).
    func outbox(_ r: StationRun) throws -> [(target: String, attempts: Int, delivered: Bool, failed: Bool)] {
        let db = try openDatabase(r.station.dir + "/station.db")
        return try db.readNow { db in
            try Row.fetchAll(db, sql: "SELECT target, attempts, delivered, failed FROM outbox ORDER BY id").map {
                try ($0["target"], $0["attempts"], ($0["delivered"] as Int64?) != nil, ($0["failed"] as Int64?) != nil)
            }
        }
    }

    @Test("a receiver that accepts and never answers: each attempt ends at `timeout`; other targets are not held up")
    func hangingReceiver() async throws {
        // Listens (the kernel completes connects) but never accepts, reads or answers.
        let hang = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(hang) }
        let port = try LoopbackPort.free()
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(hang, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(hang, 16)
        let good = try WebhookReceiver()
        let r = try await Self.run(
            """
            [[notify]]
            kind = "webhook"
            name = "hang"
            url = "http://127.0.0.1:\(port)/h"
            timeout = "1s"

            [[notify]]
            kind = "webhook"
            name = "good"
            url = "http://127.0.0.1:\(good.port)/h"

            """)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("the good target got it") { !good.requests.isEmpty }
        // With a 1 s timeout and the back-off (0.5, 1, 2 s), three attempts fit in well under 20 s; a
        // client without a total deadline would still be in its first.
        try await r.daemon.waitFor("three attempts on the hanging target") {
            try outbox(r).contains { $0.target == "hang" && $0.attempts >= 3 }
        }
        #expect(r.daemon.process.isRunning)
    }

    @Test("killed while the receiver has a notification unanswered: sent again after the restart, same idempotency key")
    func crashBeforeTheMark() async throws {
        let receiver = try WebhookReceiver()
        receiver.setHolding(true)
        let r = try await Self.run(webhook: receiver)
        try await r.daemon.waitFor("the receiver has it, unanswered") { receiver.requests.count == 1 }
        r.daemon.killHard()
        receiver.setHolding(false)
        try await r.restart()
        try await r.daemon.waitFor("sent again after the restart") { receiver.requests.count >= 2 }
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 0)
        try await r.daemon.waitFor("the resolution") { receiver.requests.count >= 3 }
        try await r.waitForPolls("fridge", cycles: 10)
        let requests = receiver.requests
        let keys = requests.map { $0.headers["idempotency-key"] ?? "" }
        let statuses = requests.map { JSON.parse($0.body)?["status"]?.string ?? "" }
        // The firing twice (the receiver answered nothing before the kill), under one key the
        // receiver can drop it by; the resolution once, under its own key. The key names the station.
        #expect(statuses == ["firing", "firing", "resolved"])
        #expect(keys[0] == keys[1] && requests[0].body == requests[1].body)
        #expect(keys[2] != keys[0] && keys.allSatisfy { $0.hasPrefix("test-") })
        #expect(try outbox(r).map(\.delivered) == [true, true])
    }

    @Test("a notification refused for good becomes a dead letter; the next ones go on, in order")
    func deadLetter() async throws {
        let receiver = try WebhookReceiver()
        receiver.setRejecting(true)
        let r = try await Self.run(webhook: receiver)
        try await r.daemon.waitFor("dead letter", within: .seconds(40)) { try outbox(r).first?.failed == true }
        receiver.setRejecting(false)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 0)
        try await r.daemon.waitFor("the next one delivered") { receiver.requests.count >= 1 }
        let statuses = receiver.requests.compactMap { JSON.parse($0.body)?["status"]?.string }
        #expect(statuses == ["resolved"])
        #expect(try outbox(r).map(\.failed) == [true, false])
        #expect(r.daemon.log.contains("dead letter"))
    }

    @Test("exec targets: a program that closes stdin at once is an error, not a crash; one that hangs is killed")
    func execTargets() async throws {
        let marker = "ws-hang-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let r = try await Self.run(
            """
            [[notify]]
            kind = "exec"
            name = "closer"
            command = ["/bin/sh", "-c", "exec 0<&-; exit 3"]
            timeout = "2s"

            [[notify]]
            kind = "exec"
            name = "hanger"
            command = ["/bin/bash", "-c", "exec -a \(marker) sleep 300"]
            timeout = "1s"

            """)
        try r.station.simulator.set(device: "fridge", point: "door_open", value: 1)
        try await r.daemon.waitFor("both retried") {
            let rows = try outbox(r)
            return rows.contains { $0.target == "closer" && $0.attempts >= 2 }
                && rows.contains { $0.target == "hanger" && $0.attempts >= 2 }
        }
        #expect(r.daemon.process.isRunning, "a child closing stdin early must not crash the daemon")
        // Each hanging child was killed at its deadline and reaped: at most the one in flight remains.
        let (_, ps) = try await Spawned.run("/usr/bin/pgrep", ["-c", "-f", marker])
        #expect((Int(ps.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99) <= 1, "\(ps)")
        let (_, zombies) = try await Spawned.run("/usr/bin/ps", ["--ppid", "\(r.daemon.process.pid)", "-o", "stat="])
        #expect(!zombies.contains("Z"), "no zombie children: \(zombies)")
    }
}
