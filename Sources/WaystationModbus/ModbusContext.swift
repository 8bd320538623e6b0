import CModbus
import WaystationCore

/// Owns one libmodbus context. libmodbus contexts are not thread-safe: exactly one owner (a bus
/// actor) uses it, and `deinit` closes and frees it.
final class ModbusContext {
    let pointer: OpaquePointer
    private(set) var isConnected = false
    /// For RTU over TCP: the gateway's address and how long a connect may take. libmodbus frames
    /// RTU on a descriptor it is given (`modbus_set_socket`); this class opens the TCP stream.
    let gateway: (host: String, port: Int, timeout: Duration)?

    /// Creates (but does not connect) a context for a bus.
    init(bus: StationConfig.Bus) throws(ModbusError) {
        let created: OpaquePointer?
        switch bus.transport {
        case .tcp(let host, let port):
            created = modbus_new_tcp_pi(host, String(port))
        case .rtu(let serial, let baud, let parity, let dataBits, let stopBits, _):
            created = modbus_new_rtu(
                serial, Int32(baud), CChar(parity.letter.asciiValue ?? 78), Int32(dataBits), Int32(stopBits))
        case .rtuOverTCP:
            // The device name is never opened: the TCP stream is handed over on connect.
            created = modbus_new_rtu("/dev/null", 9600, 78, 8, 1)
        }
        if case .rtuOverTCP(let host, let port) = bus.transport {
            gateway = (host, port, bus.timeout)
        } else {
            gateway = nil
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
        if let gateway {
            switch TCPStream.open(host: gateway.host, port: gateway.port, timeout: gateway.timeout) {
            case .failure(let e): return e.code
            case .success(let fd):
                modbus_set_socket(pointer, fd)
                isConnected = true
                return nil
            }
        }
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
        if gateway != nil {
            // libmodbus flushes RTU with tcflush, which a socket ignores: read what is waiting.
            TCPStream.drain(modbus_get_socket(pointer))
        } else {
            _ = modbus_flush(pointer)
        }
    }

    func setUnit(_ unit: Int) {
        modbus_set_slave(pointer, Int32(unit))
    }
}
