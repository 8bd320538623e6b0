#if canImport(Glibc)
    import Glibc
#endif
import WaystationCore

/// A Modbus exception code sent by a device.
public enum ModbusException: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case illegalFunction = 0x01
    case illegalDataAddress = 0x02
    case illegalDataValue = 0x03
    case serverDeviceFailure = 0x04
    case acknowledge = 0x05
    case serverDeviceBusy = 0x06
    case negativeAcknowledge = 0x07
    case memoryParityError = 0x08
    case gatewayPathUnavailable = 0x0A
    case gatewayTargetFailedToRespond = 0x0B

    public var description: String {
        switch self {
        case .illegalFunction: "illegal function"
        case .illegalDataAddress: "illegal data address"
        case .illegalDataValue: "illegal data value"
        case .serverDeviceFailure: "server device failure"
        case .acknowledge: "acknowledge (busy with a long command)"
        case .serverDeviceBusy: "server device busy"
        case .negativeAcknowledge: "negative acknowledge"
        case .memoryParityError: "memory parity error"
        case .gatewayPathUnavailable: "gateway path unavailable"
        case .gatewayTargetFailedToRespond: "gateway target device failed to respond"
        }
    }

    /// Config-style name, e.g. `illegal_data_address`.
    public var name: String {
        switch self {
        case .illegalFunction: "illegal_function"
        case .illegalDataAddress: "illegal_data_address"
        case .illegalDataValue: "illegal_data_value"
        case .serverDeviceFailure: "server_device_failure"
        case .acknowledge: "acknowledge"
        case .serverDeviceBusy: "busy"
        case .negativeAcknowledge: "negative_acknowledge"
        case .memoryParityError: "memory_parity"
        case .gatewayPathUnavailable: "gateway_path_unavailable"
        case .gatewayTargetFailedToRespond: "gateway_target_failed"
        }
    }

    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// A failed Modbus operation: what was attempted, on which bus, unit and address, and why.
public struct ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case connect = "connect"
        case readCoils = "read coils"
        case readDiscreteInputs = "read discrete inputs"
        case readInputRegisters = "read input registers"
        case readHoldingRegisters = "read holding registers"
        case writeCoil = "write coil"
        case writeCoils = "write coils"
        case writeRegister = "write register"
        case writeRegisters = "write registers"
    }

    public enum Cause: Sendable, Equatable {
        /// No reply within the response timeout.
        case timeout(Duration)
        case connectionRefused
        case connectionReset
        /// Some other OS-level failure (serial port missing, permission denied, host unreachable …).
        case connectionFailed(errno: Int32)
        /// Waiting before reconnecting after a connection error (no I/O was attempted).
        case reconnectBackoff(retryIn: Duration)
        case badCRC
        case exception(ModbusException)
        case invalidResponse(String)
        case invalidRequest(String)
        /// Not sent: too many control-client requests are waiting on this bus, or arrive too fast.
        case busy(String)
    }

    public var operation: Operation
    public var bus: String
    public var unit: Int
    public var address: Int
    public var count: Int
    public var cause: Cause

    public init(operation: Operation, bus: String, unit: Int, address: Int, count: Int, cause: Cause) {
        self.operation = operation
        self.bus = bus
        self.unit = unit
        self.address = address
        self.count = count
        self.cause = cause
    }

    /// True when the connection should be closed and reopened.
    public var isConnectionError: Bool {
        switch cause {
        case .connectionRefused, .connectionReset, .connectionFailed, .reconnectBackoff: true
        default: false
        }
    }

    /// The exception code, when the device answered with one.
    public var exception: ModbusException? {
        if case .exception(let e) = cause { return e }
        return nil
    }

    public var isTimeout: Bool {
        if case .timeout = cause { return true }
        return false
    }

    /// Short cause text, e.g. for a value's quality.
    public var causeDescription: String {
        switch cause {
        case .timeout(let d): "timeout (no reply within \(DurationParser.format(d)))"
        case .connectionRefused: "connection refused"
        case .connectionReset: "connection reset by peer"
        case .connectionFailed(let e): "connection failed: \(Self.errnoText(e))"
        case .reconnectBackoff(let d): "not connected (next reconnect in \(DurationParser.format(d)))"
        case .badCRC: "CRC error in reply"
        case .exception(let e): "device answered exception \(e.rawValue): \(e)"
        case .invalidResponse(let s): "invalid response: \(s)"
        case .invalidRequest(let s): "invalid request: \(s)"
        case .busy(let s): "bus busy: \(s); try again in a moment"
        }
    }

    /// What a technician should look at.
    public var hint: String? {
        switch cause {
        case .timeout: "check the wiring, power, unit id and the bus's baud/parity"
        case .connectionRefused: "is the gateway or device listening on that port?"
        case .badCRC: "noise on the line, wrong baud/parity, or two devices with one unit id"
        case .exception(.illegalDataAddress): "the profile names a register this device does not have"
        case .exception(.gatewayTargetFailedToRespond): "the gateway is up but the device behind it is not answering"
        case .exception(.gatewayPathUnavailable): "the gateway has no route to that unit id"
        default: nil
        }
    }

    public var description: String {
        let what = operation == .connect ? "connect" : "\(operation.rawValue) \(address)…\(address + max(count, 1) - 1)"
        var text = "bus \"\(bus)\" unit \(unit): \(what) failed: \(causeDescription)"
        if let hint { text += " — \(hint)" }
        return text
    }

    static func errnoText(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such device or file (ENOENT)"
        case EACCES: "permission denied (EACCES)"
        case EBUSY: "device busy (EBUSY)"
        case EHOSTUNREACH: "host unreachable (EHOSTUNREACH)"
        case ENETUNREACH: "network unreachable (ENETUNREACH)"
        case EPIPE: "broken pipe (EPIPE)"
        case EINVAL: "invalid argument (EINVAL)"
        case EIO: "I/O error (EIO)"
        case ENXIO: "no such device (ENXIO)"
        case EBADF: "bad file descriptor (EBADF)"
        case ETIMEDOUT: "timed out (ETIMEDOUT)"
        default: "errno \(code)"
        }
    }
}
