import CModbus
import Foundation
import WaystationCore
import WaystationModbus

/// One endpoint the simulator serves.
protocol BusServer: AnyObject {
    func open() throws
    func start()
    func shutdown()
}

extension Simulator {
    /// Answers one request (already received by libmodbus into `query`) for `unit`.
    /// Returns false when nothing was sent (no such unit on RTU, or a silent device).
    @discardableResult
    func answer(
        ctx: OpaquePointer, query: UnsafeMutablePointer<UInt8>, length: Int32, unit: Int, deviceID: String?, rtu: Bool
    )
        -> Bool
    {
        let header = Int(modbus_get_header_length(ctx))
        lock.lock()
        defer { lock.unlock() }
        guard let id = deviceID, let device = devices[id] else {
            // A gateway with nothing at that unit says so; on a serial line nobody answers.
            if !rtu {
                modbus_reply_exception(ctx, query, UInt32(ModbusException.gatewayTargetFailedToRespond.rawValue))
            }
            return !rtu
        }
        if rtu { modbus_set_slave(ctx, Int32(unit)) }
        switch device.fault {
        case .silent:
            return false
        case .exception(let e):
            modbus_reply_exception(ctx, query, UInt32(e.rawValue))
            return true
        case .garbage:
            let junk = (0..<7).map { _ in UInt8.random(in: 0...255) }
            _ = junk.withUnsafeBytes { write(modbus_get_socket(ctx), $0.baseAddress, $0.count) }  // SIGPIPE is ignored
            return true
        case .badCRC:
            writeBadCRC(ctx: ctx, query: query, header: header, rtu: rtu)
            return true
        case nil:
            break
        }
        let function = query[header]
        let address = Int(query[header + 1]) << 8 | Int(query[header + 2])
        let count = (function == 5 || function == 6) ? 1 : Int(query[header + 3]) << 8 | Int(query[header + 4])
        let table: RegisterTable
        let isWrite: Bool
        switch function {
        case 1: (table, isWrite) = (.coil, false)
        case 2: (table, isWrite) = (.discrete, false)
        case 3: (table, isWrite) = (.holding, false)
        case 4: (table, isWrite) = (.input, false)
        case 5, 15: (table, isWrite) = (.coil, true)
        case 6, 16: (table, isWrite) = (.holding, true)
        default:
            modbus_reply_exception(ctx, query, UInt32(ModbusException.illegalFunction.rawValue))
            return true
        }
        guard count >= 1, device.accepts(table, address: address, count: count, write: isWrite) else {
            modbus_reply_exception(ctx, query, UInt32(ModbusException.illegalDataAddress.rawValue))
            return true
        }
        modbus_reply(ctx, query, length, device.mapping)
        device.served += 1
        if isWrite {
            device.absorbWrite(table, address: address, count: count)
            if device.servedAtWrites.count == 100 { device.servedAtWrites.removeFirst() }
            device.servedAtWrites.append(device.served)
        }
        return true
    }

    /// A reply shaped like the right one, with its CRC inverted.
    private func writeBadCRC(ctx: OpaquePointer, query: UnsafeMutablePointer<UInt8>, header: Int, rtu: Bool) {
        var frame: [UInt8] = [query[header - 1], query[header]]
        if query[header] <= 4 {
            let count = Int(query[header + 3]) << 8 | Int(query[header + 4])
            let bytes = query[header] <= 2 ? (count + 7) / 8 : count * 2
            frame.append(UInt8(truncatingIfNeeded: bytes))
            frame += [UInt8](repeating: 0x5A, count: bytes)
        } else {
            frame += (1...4).map { query[header + $0] }
        }
        let crc = RTUFrame.crc16(frame) ^ 0xFFFF
        frame += [UInt8(crc & 0xFF), UInt8(crc >> 8)]
        _ = frame.withUnsafeBytes { write(modbus_get_socket(ctx), $0.baseAddress, $0.count) }
    }
}

/// RTU framing helpers the simulator needs beside libmodbus.
enum RTUFrame {
    /// Modbus CRC-16 (poly 0xA001, init 0xFFFF); sent low byte first.
    static func crc16<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }
}
