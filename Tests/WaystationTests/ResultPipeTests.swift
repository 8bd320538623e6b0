import Foundation
import Logging
import Testing
import WaystationCore

@testable import WaystationPolling

/// Poll results travel from the bus threads to the monitor through a bounded pipe: a stalled
/// monitor must show up to the watchdog, and must never make a bus thread wait or memory grow.
@Suite("Result pipe: bus threads to the monitor")
struct ResultPipeTests {
    static func result(_ n: Int) -> CycleResult {
        CycleResult(device: "d\(n)", at: Date(), readings: [:], newSplits: [], requests: 1)
    }

    @Test("results not taken in: the pipe reports a stall after the window, not before")
    func stall() async throws {
        let pipe = ResultPipe(logger: Logger(label: "test"))
        pipe.open()
        #expect(!pipe.isStalled(within: .milliseconds(50)), "an empty pipe is not stalled")
        pipe.send(Self.result(1))
        #expect(!pipe.isStalled(within: .seconds(60)))
        try await Task.sleep(for: .milliseconds(120))
        #expect(pipe.isStalled(within: .milliseconds(50)), "a result waiting past the window is a stall")
        // Taking it in clears the stall.
        #expect(await pipe.next()?.device == "d1")
        pipe.taken()
        #expect(!pipe.isStalled(within: .milliseconds(50)))
    }

    @Test("a monitor that never takes in: the newest results are kept, the oldest dropped and counted")
    func bounded() async {
        let pipe = ResultPipe(logger: Logger(label: "test"))
        pipe.open()
        let total = ResultPipe.capacity + 36
        for n in 0..<total { pipe.send(Self.result(n)) }  // never waits
        #expect(pipe.droppedCount == total - ResultPipe.capacity)
        pipe.close()
        var seen: [String] = []
        while let r = await pipe.next() { seen.append(r.device) }
        #expect(seen.count == ResultPipe.capacity)
        #expect(seen.first == "d\(total - ResultPipe.capacity)" && seen.last == "d\(total - 1)")
    }

    @Test("a consumer waiting gets each result a bus thread sends, in order, then nil when the pipe closes")
    func handOff() async {
        let pipe = ResultPipe(logger: Logger(label: "test"))
        pipe.open()
        let consumer = Task { () -> [String] in
            var seen: [String] = []
            while let r = await pipe.next() {
                seen.append(r.device)
                pipe.taken()
            }
            return seen
        }
        // Sent from a thread of its own, as a bus thread does, some while the consumer waits and
        // some while it is busy; closing ends the consumer's loop once it has them all.
        OSThread.start(name: "test-bus", stackSize: 64 << 10) {
            for n in 0..<20 {
                pipe.send(Self.result(n))
                if n % 3 == 0 { OSThread.sleep(.milliseconds(5)) }
            }
            pipe.close()
        }
        #expect(await consumer.value == (0..<20).map { "d\($0)" })
        #expect(!pipe.isStalled(within: .zero), "everything sent was taken in")
        #expect(pipe.droppedCount == 0)
    }

    @Test("a timed wait on a thread condition ends at its timeout without a signal")
    func timedWait() {
        let condition = ThreadCondition()
        let start = ContinuousClock.now
        condition.lock()
        condition.wait(timeout: .milliseconds(200))
        condition.unlock()
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(190), "returned after \(waited)")
        #expect(waited < .seconds(30), "never returned in time: \(waited)")
    }
}
