import CModbus
import WaystationCore

/// Owns one libmodbus context. libmodbus contexts are not thread-safe: exactly one owner (a bus
/// actor) uses it, and `deinit` closes and frees it.
final class ModbusContext {
    let pointer: OpaquePointer
    private(set) var isConnected = false

    /// Creates (but does not connect) a context for a bus.
    init(bus: StationConfig.Bus) throws(ModbusError) {
        let created: OpaquePointer?
        switch bus.transport {
        case .tcp(let host, let port):
            created = modbus_new_tcp_pi(host, String(port))
        case .rtu(let serial, let baud, let parity, let dataBits, let stopBits, _):
            created = modbus_new_rtu(
                serial, Int32(baud), CChar(parity.letter.asciiValue ?? 78), Int32(dataBits), Int32(stopBits))
        }
        guard let created else {
            throw ModbusError(
                operation: .connect, bus: bus.name, unit: 0, address: 0, count: 0,
                cause: .invalidRequest("libmodbus refused the bus settings (errno \(ws_errno()))"))
        }
        pointer = created
        // Recovery is ours (close, back off, reopen); libmodbus's own would retry in a tight loop.
        modbus_set_error_recovery(pointer, MODBUS_ERROR_RECOVERY_NONE)
        let timeout = Self.split(bus.timeout)
        modbus_set_response_timeout(pointer, timeout.0, timeout.1)
        let byte = Self.split(bus.byteTimeout)
        modbus_set_byte_timeout(pointer, byte.0, byte.1)
    }

    deinit {
        modbus_close(pointer)
        modbus_free(pointer)
    }

    private static func split(_ d: Duration) -> (UInt32, UInt32) {
        let ms = max(d.milliseconds, 1)
        return (UInt32(ms / 1000), UInt32((ms % 1000) * 1000))
    }

    /// Connects; returns errno on failure.
    func connect(rs485: Bool) -> Int32? {
        if modbus_connect(pointer) == -1 {
            let code = ws_errno()
            modbus_close(pointer)
            return code
        }
        if rs485 {
            // Adapters that need the kernel's RS-485 mode (RTS driven direction); others ignore it.
            _ = modbus_rtu_set_serial_mode(pointer, WS_MODBUS_RTU_RS485)
        }
        isConnected = true
        return nil
    }

    func close() {
        modbus_close(pointer)
        isConnected = false
    }

    /// Drops any late or partial reply still in the receive buffer.
    func flush() {
        _ = modbus_flush(pointer)
    }

    func setUnit(_ unit: Int) {
        modbus_set_slave(pointer, Int32(unit))
    }
}
