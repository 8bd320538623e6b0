import Foundation
import WaystationModbus

extension Simulator {
    /// The command language of the simulator's stdin and control socket (see README).
    public static let commandHelp = """
        commands:
          status                         devices, units, requests served, faults
          silent DEVICE                  the device stops answering
          exception DEVICE NAME|CODE     answer every request with an exception
                                         (illegal_function, illegal_data_address, illegal_data_value,
                                          server_device_failure, busy, gateway_path_unavailable,
                                          gateway_target_failed, or a number 1-11)
          garbage DEVICE                 reply with random bytes
          badcrc DEVICE                  reply with a wrong CRC (RTU)
          ok DEVICE                      clear the device's fault
          set DEVICE POINT VALUE         set a value; physics carries on from it
          hold DEVICE POINT VALUE        pin a value (fridge 15 °C, slot 75 °C, smoke 1)
          release DEVICE POINT           let physics move a held value again
          get DEVICE POINT               print a value
          drop BUS                       drop every connection of a TCP bus
          down BUS | up BUS              close / reopen a TCP endpoint
          help
        """

    /// Runs one command line and returns its answer (starting "error:" on failure).
    public func execute(_ line: String) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first else { return "" }
        do {
            switch (verb, words.count) {
            case ("help", _): return Self.commandHelp
            case ("status", 1): return statusLines().joined(separator: "\n")
            case ("silent", 2): try setFault(device: words[1], .silent)
            case ("garbage", 2): try setFault(device: words[1], .garbage)
            case ("badcrc", 2): try setFault(device: words[1], .badCRC)
            case ("ok", 2): try setFault(device: words[1], nil)
            case ("exception", 3):
                let e = ModbusException(name: words[2]) ?? UInt8(words[2]).flatMap(ModbusException.init(rawValue:))
                guard let e else { return "error: unknown exception \"\(words[2])\"" }
                try setFault(device: words[1], .exception(e))
            case ("set", 4), ("hold", 4):
                guard let value = Double(words[3]) else { return "error: \"\(words[3])\" is not a number" }
                try set(device: words[1], point: words[2], value: value, hold: verb == "hold")
            case ("release", 3): try release(device: words[1], point: words[2])
            case ("get", 3): return "\(try value(device: words[1], point: words[2]))"
            case ("drop", 2): try dropConnections(bus: words[1])
            case ("down", 2): try setEndpoint(bus: words[1], up: false)
            case ("up", 2): try setEndpoint(bus: words[1], up: true)
            default: return "error: cannot parse \"\(line)\"; try help"
            }
            return "ok"
        } catch {
            return "error: \(error)"
        }
    }
}
