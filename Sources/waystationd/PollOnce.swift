import Logging
import WaystationCore
import WaystationModbus
import WaystationPolling

/// `--poll-once`: reads every device through the client layer and prints a table.
enum PollOnce {
    static func run(_ station: StationConfig) async -> Bool {
        var clients: [String: ModbusClient] = [:]
        let logger = Logger(label: "waystationd")
        for bus in station.buses { clients[bus.name] = ModbusClient(bus: bus, logger: logger) }
        var allOK = true
        var rows: [[String]] = [["DEVICE", "POINT", "VALUE", "UNIT", "STATUS"]]
        for device in station.devices {
            guard let client = clients[device.bus] else { continue }
            let readings = await DeviceReader.readAll(device, client: client)
            for point in device.profile.points {
                switch readings[point.name] {
                case .value(let v)?:
                    var text = v.description
                    if let n = v.doubleValue, let label = point.label(for: n) { text += " (\(label))" }
                    rows.append([device.id, point.name, text, point.unit ?? "", "ok"])
                case .failed(let e)?:
                    allOK = false
                    rows.append([device.id, point.name, "-", point.unit ?? "", e.causeDescription])
                case nil:
                    break
                }
            }
        }
        print(TextTable.render(rows))
        return allOK
    }
}
