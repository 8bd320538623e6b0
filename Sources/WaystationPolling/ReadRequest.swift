import WaystationCore

/// One Modbus read that covers one or more points of a device.
public struct ReadRequest: Sendable, Hashable, CustomStringConvertible {
    public var table: RegisterTable
    public var address: Int
    public var count: Int
    public var points: [PointSpec]

    public init(table: RegisterTable, address: Int, count: Int, points: [PointSpec]) {
        self.table = table
        self.address = address
        self.count = count
        self.points = points
    }

    public var lastAddress: Int { address + count - 1 }

    public var description: String { "\(table.rawValue) \(address)+\(count) (\(points.count) points)" }
}
