import Foundation
import TestSupport
import Testing
import WaystationCore

/// A burst of clients at once: the daemon handles a few calls at a time (the rest wait, unread) so
/// the heap a burst spreads over stays small. Waiting must never cost a client its answer.
@Suite("Control socket bursts (real daemon)", .serialized)
struct ControlBurstTests {
    @Test("200 clients call at once, some closing their sending side: every one gets its answer")
    func burstAllAnswered() async throws {
        let station = try TestStation(tcpUnits: [1])
        let r = try await StationRun(station, waitForOnline: ["t1"])
        let script = """
            import json, socket, sys
            clients = []
            for i in range(200):  # a blocking connect waits while the listen backlog is full
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20); clients.append(s)
            for i, s in enumerate(clients):
                s.sendall(b'{"method":"io.waystation.Station.GetStatus"}\\0')
                # Every third client says it is done sending: a call still waiting for its turn
                # must be answered all the same, not dropped with the connection.
                if i % 3 == 0: s.shutdown(socket.SHUT_WR)
            answered = 0
            for s in clients:
                buf = b""
                while not buf.endswith(b"\\0"):
                    chunk = s.recv(65536)
                    if not chunk: break
                    buf += chunk
                if buf.endswith(b"\\0") and "station" in json.loads(buf[:-1]).get("parameters", {}): answered += 1
                s.close()
            print(answered)
            """
        let (status, output) = try await Spawned.run(
            "/usr/bin/python3", ["-c", script, r.socket], timeout: .seconds(60))
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "200", "answered: \(output)")
        // And the station went on: still answering, no client dropped as "not reading".
        #expect(try r.call("GetStatus")["station"] != nil)
        #expect(!r.daemon.log.contains("control client dropped"), "\(r.daemon.log)")
    }
}
