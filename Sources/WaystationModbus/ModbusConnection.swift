import CModbus
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import WaystationCore

/// The bus's side of a Modbus master: the libmodbus context and the blocking calls on it. Used only
/// on the bus's own thread (inside `ModbusClient.perform`), one request at a time.
///
/// On a connection error the context is closed; the next request reopens it, after an exponential,
/// jittered back-off if reopening keeps failing. While backing off, requests fail at once with
/// `.reconnectBackoff` instead of touching a dead socket.
public final class ModbusConnection {
    public let bus: StationConfig.Bus
    private var context: ModbusContext?
    private var failedConnects = 0
    private var nextConnectAttempt: ContinuousClock.Instant?
    private var lastFrameEnd: ContinuousClock.Instant?
    private let logger: Logger
    /// Requests sent on the wire (for figures).
    public private(set) var requestCount = 0
    /// Requests by result, reconnects, durations.
    public private(set) var statistics = BusStatistics()
    private var everConnected = false

    init(bus: StationConfig.Bus, logger: Logger) {
        self.bus = bus
        self.logger = logger
    }

    /// Closes the connection; the next request reopens it.
    public func disconnect() {
        context?.close()
        context = nil
    }

    /// Whether a connection is open now.
    public var isConnected: Bool { context?.isConnected ?? false }

    // MARK: Reads

    /// Reads `count` coils or discrete inputs.
    public func readBits(_ table: RegisterTable, unit: Int, address: Int, count: Int) throws(ModbusError) -> [Bool] {
        let op: ModbusError.Operation = table == .coil ? .readCoils : .readDiscreteInputs
        guard table.isBits else {
            throw error(op, unit, address, count, .invalidRequest("\(table.displayName) hold registers, not bits"))
        }
        try check(op, unit, address, count, max: Int(WS_MODBUS_MAX_READ_BITS))
        var buffer = [UInt8](repeating: 0, count: count)
        try perform(op, unit: unit, address: address, count: count) { ctx in
            table == .coil
                ? modbus_read_bits(ctx, Int32(address), Int32(count), &buffer)
                : modbus_read_input_bits(ctx, Int32(address), Int32(count), &buffer)
        }
        return buffer.map { $0 != 0 }
    }

    /// Reads `count` input or holding registers.
    public func readRegisters(_ table: RegisterTable, unit: Int, address: Int, count: Int) throws(ModbusError)
        -> [UInt16]
    {
        let op: ModbusError.Operation = table == .input ? .readInputRegisters : .readHoldingRegisters
        guard !table.isBits else {
            throw error(op, unit, address, count, .invalidRequest("\(table.displayName) hold bits, not registers"))
        }
        try check(op, unit, address, count, max: Int(WS_MODBUS_MAX_READ_REGISTERS))
        var buffer = [UInt16](repeating: 0, count: count)
        try perform(op, unit: unit, address: address, count: count) { ctx in
            table == .input
                ? modbus_read_input_registers(ctx, Int32(address), Int32(count), &buffer)
                : modbus_read_registers(ctx, Int32(address), Int32(count), &buffer)
        }
        return buffer
    }

    // MARK: Writes

    /// Writes one coil (function 05).
    public func writeCoil(unit: Int, address: Int, value: Bool) throws(ModbusError) {
        try check(.writeCoil, unit, address, 1, max: 1)
        try perform(.writeCoil, unit: unit, address: address, count: 1) { ctx in
            modbus_write_bit(ctx, Int32(address), value ? 1 : 0)
        }
    }

    /// Writes several coils (function 15).
    public func writeCoils(unit: Int, address: Int, values: [Bool]) throws(ModbusError) {
        try check(.writeCoils, unit, address, values.count, max: 1968)
        var buffer = values.map { UInt8($0 ? 1 : 0) }
        try perform(.writeCoils, unit: unit, address: address, count: values.count) { ctx in
            modbus_write_bits(ctx, Int32(address), Int32(buffer.count), &buffer)
        }
    }

    /// Writes one holding register (function 06).
    public func writeRegister(unit: Int, address: Int, value: UInt16) throws(ModbusError) {
        try check(.writeRegister, unit, address, 1, max: 1)
        try perform(.writeRegister, unit: unit, address: address, count: 1) { ctx in
            modbus_write_register(ctx, Int32(address), value)
        }
    }

    /// Writes several holding registers (function 16).
    public func writeRegisters(unit: Int, address: Int, values: [UInt16]) throws(ModbusError) {
        try check(.writeRegisters, unit, address, values.count, max: 123)
        var buffer = values
        try perform(.writeRegisters, unit: unit, address: address, count: values.count) { ctx in
            modbus_write_registers(ctx, Int32(address), Int32(buffer.count), &buffer)
        }
    }

    // MARK: Plumbing

    func error(
        _ op: ModbusError.Operation, _ unit: Int, _ address: Int, _ count: Int, _ cause: ModbusError.Cause
    ) -> ModbusError {
        ModbusError(operation: op, bus: bus.name, unit: unit, address: address, count: count, cause: cause)
    }

    private func check(_ op: ModbusError.Operation, _ unit: Int, _ address: Int, _ count: Int, max: Int)
        throws(ModbusError)
    {
        guard (0...255).contains(unit) else {
            throw error(op, unit, address, count, .invalidRequest("unit id \(unit) is outside 0…255"))
        }
        guard count >= 1, count <= max else {
            throw error(op, unit, address, count, .invalidRequest("count \(count) is outside 1…\(max)"))
        }
        guard address >= 0, address + count - 1 <= 65535 else {
            throw error(op, unit, address, count, .invalidRequest("address range runs past 65535"))
        }
    }

    private func connectedContext(_ op: ModbusError.Operation, unit: Int, address: Int, count: Int)
        throws(ModbusError) -> ModbusContext
    {
        if let context, context.isConnected { return context }
        let now = ContinuousClock.now
        if let next = nextConnectAttempt, now < next {
            throw error(op, unit, address, count, .reconnectBackoff(retryIn: next - now))
        }
        let ctx: ModbusContext
        if let context {
            ctx = context
        } else {
            ctx = try ModbusContext(bus: bus)
        }
        var rs485 = false
        if case .rtu(_, _, _, _, _, let flag) = bus.transport { rs485 = flag }
        if let code = ctx.connect(rs485: rs485) {
            failedConnects += 1
            let delay = backoff(attempt: failedConnects)
            nextConnectAttempt = ContinuousClock.now + delay
            context = ctx
            if failedConnects == 1 || failedConnects % 20 == 0 {
                logger.warning(
                    "cannot connect; retrying with back-off",
                    metadata: ["errno": "\(code)", "attempt": "\(failedConnects)", "retry_in": "\(delay)"])
            }
            let cause: ModbusError.Cause =
                code == ECONNREFUSED ? .connectionRefused : .connectionFailed(errno: code)
            throw error(.connect, unit, address, count, cause)
        }
        if failedConnects > 0 {
            logger.notice("connected again", metadata: ["after_attempts": "\(failedConnects)"])
        }
        if everConnected { statistics.reconnects += 1 }
        everConnected = true
        failedConnects = 0
        nextConnectAttempt = nil
        context = ctx
        return ctx
    }

    /// Exponential back-off from `reconnect_min` to `reconnect_max` with ±25 % jitter.
    func backoff(attempt: Int) -> Duration { Self.backoff(bus, attempt: attempt) }

    static func backoff(_ bus: StationConfig.Bus, attempt: Int) -> Duration {
        let base = bus.reconnectMin.seconds * pow(2, Double(min(attempt - 1, 20)))
        let capped = min(base, bus.reconnectMax.seconds)
        let jittered = capped * Double.random(in: 0.75...1.25)
        return .milliseconds(Int64(jittered * 1000))
    }

    private func perform(
        _ op: ModbusError.Operation, unit: Int, address: Int, count: Int, _ call: (OpaquePointer) -> Int32
    ) throws(ModbusError) {
        let ctx = try connectedContext(op, unit: unit, address: address, count: count)
        if bus.frameDelay > .zero, let last = lastFrameEnd {
            let wait = bus.frameDelay - (ContinuousClock.now - last)
            if wait > .zero { OSThread.sleep(wait) }
        }
        ctx.setUnit(unit)
        ws_set_errno(0)
        let started = ContinuousClock.now
        let rc = call(ctx.pointer)
        let code = ws_errno()
        lastFrameEnd = ContinuousClock.now
        requestCount += 1
        let seconds = (lastFrameEnd ?? started) - started
        if rc != -1 {
            statistics.record(.ok, seconds: seconds.seconds)
            return
        }
        let cause = classify(code)
        statistics.record(BusStatistics.result(of: cause), seconds: seconds.seconds)
        let failure = error(op, unit, address, count, cause)
        switch cause {
        case .connectionRefused, .connectionReset, .connectionFailed:
            // Never keep using a dead socket: close now, reopen on the next request.
            ctx.close()
            context = nil
            logger.info("connection lost; will reopen", metadata: ["cause": "\(failure.causeDescription)"])
        case .timeout, .badCRC:
            // A late or partial reply must not be taken as the answer to the next request.
            ctx.flush()
        case .invalidResponse:
            if bus.isRTU {
                ctx.flush()
            } else {
                // The TCP stream is out of step: start a fresh connection.
                ctx.close()
                context = nil
            }
        default:
            break
        }
        throw failure
    }

    private func classify(_ code: Int32) -> ModbusError.Cause {
        let base = WS_MODBUS_ENOBASE
        if code > base, code <= base + 0x0B, let exception = ModbusException(rawValue: UInt8(code - base)) {
            return .exception(exception)
        }
        switch code {
        case ETIMEDOUT: return .timeout(bus.timeout)
        case WS_EMBBADCRC: return .badCRC
        case WS_EMBBADDATA: return .invalidResponse("unexpected data in reply")
        case WS_EMBMDATA: return .invalidResponse("too many data")
        case WS_EMBBADEXC: return .invalidResponse("invalid exception code")
        case WS_EMBUNKEXC: return .invalidResponse("unknown exception code")
        case WS_EMBBADSLAVE: return .invalidResponse("reply from another unit id")
        case ECONNREFUSED: return .connectionRefused
        case ECONNRESET, EPIPE, ENOTCONN: return .connectionReset
        case 0: return .invalidResponse("libmodbus reported failure without a reason")
        default: return .connectionFailed(errno: code)
        }
    }
}
