import CModbus
import Foundation
import WaystationCore

/// Serves one RTU line: answers only the unit ids configured on it, stays silent for others.
final class RTUBusServer: BusServer, @unchecked Sendable {
    // @unchecked: `ctx` is used only by the server thread after `open()`; counters and `running`
    // are guarded by `state`.
    /// Weak: the server's thread may still be answering a request when the simulator goes (its
    /// deinit stops the servers); an unowned reference read then trapped ("already destroyed").
    private weak let sim: Simulator?
    let bus: String
    let path: String
    let baud: Int
    let parity: StationConfig.Bus.Parity
    let dataBits: Int
    let stopBits: Int
    let units: [Int: String]
    private let state = NSLock()
    private var ctx: OpaquePointer?
    private var running = false
    private var frames = 0
    private var badFrames = 0

    init(
        sim: Simulator, bus: String, path: String, baud: Int, parity: StationConfig.Bus.Parity, dataBits: Int,
        stopBits: Int, units: [Int: String]
    ) {
        self.sim = sim
        self.bus = bus
        self.path = path
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.units = units
    }

    deinit {
        if let ctx {
            modbus_close(ctx)
            modbus_free(ctx)
        }
    }

    var stats: (frames: Int, badFrames: Int) {
        state.lock()
        defer { state.unlock() }
        return (frames, badFrames)
    }

    func open() throws {
        guard ctx == nil else { return }
        guard
            let created = modbus_new_rtu(
                path, Int32(baud), CChar(parity.letter.asciiValue ?? 78), Int32(dataBits), Int32(stopBits))
        else {
            throw SimulatorError("bus \(bus): libmodbus refused serial settings for \(path)")
        }
        modbus_set_slave(created, Int32(units.keys.min() ?? 1))
        modbus_set_byte_timeout(created, 0, 200_000)
        if modbus_connect(created) == -1 {
            let code = errno
            modbus_free(created)
            throw SimulatorError("bus \(bus): cannot open serial port \(path) (errno \(code))")
        }
        ctx = created
    }

    func start() {
        state.lock()
        running = true
        state.unlock()
        let thread = Thread { [self] in self.loop() }
        thread.name = "sim-rtu-\(bus)"
        thread.start()
    }

    func shutdown() {
        state.lock()
        running = false
        state.unlock()
    }

    private func isRunning() -> Bool {
        state.lock()
        defer { state.unlock() }
        return running
    }

    private func count(bad: Bool) {
        state.lock()
        if bad { badFrames += 1 } else { frames += 1 }
        state.unlock()
    }

    /// Reads one request frame: waits for its first byte, then reads the rest by its function code
    /// with a byte timeout. libmodbus's own `modbus_receive` serves one unit id per context and, after
    /// a frame for another unit, swallows the next frame as that unit's reply, so a line with several
    /// simulated units frames requests here and lets libmodbus build the replies.
    private func readFrame(fd: Int32, into buffer: inout [UInt8]) -> Int? {
        var have = 0
        func readMore(upTo wanted: Int) -> Bool {
            while have < wanted {
                var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, have == 0 ? 50 : 100) > 0 else { return false }
                let n = buffer.withUnsafeMutableBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return -1 }
                    return read(fd, base + have, wanted - have)
                }
                if n <= 0 { return false }
                have += n
            }
            return true
        }
        guard readMore(upTo: 2) else { return have == 0 ? nil : -1 }
        let length: Int
        switch buffer[1] {
        case 1...6: length = 8
        case 15, 16:
            guard readMore(upTo: 7) else { return -1 }
            length = 9 + Int(buffer[6])
        default:
            return -1
        }
        guard length <= buffer.count, readMore(upTo: length) else { return -1 }
        return length
    }

    private func loop() {
        guard let ctx else { return }
        let fd = modbus_get_socket(ctx)
        var query = [UInt8](repeating: 0, count: Int(WS_MODBUS_RTU_MAX_ADU_LENGTH))
        while isRunning() {
            guard let length = readFrame(fd: fd, into: &query) else { continue }
            let crcOK =
                length > 2
                && RTUFrame.crc16(query[0..<(length - 2)]) == UInt16(query[length - 2]) | UInt16(query[length - 1]) << 8
            if length < 0 || !crcOK {
                // Garbled: drop whatever else is on the line and wait for the next frame.
                count(bad: true)
                tcflush(fd, TCIFLUSH)
                continue
            }
            let unit = Int(query[0])
            guard let id = units[unit] else { continue }  // not ours: stay silent, like a real line
            count(bad: false)
            query.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                sim?.answer(ctx: ctx, query: base, length: Int32(length), unit: unit, deviceID: id, rtu: true)
            }
        }
        modbus_close(ctx)
    }
}
