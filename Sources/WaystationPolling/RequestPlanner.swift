import WaystationCore

/// Merges a device's points into as few reads as possible (pure; BRIEF 5.6).
///
/// Runs are merged across gaps of up to `maxGap` unused registers (bits), never past the device's
/// read limit, and never across a learned barrier: an address where a merged read was answered
/// "illegal data address" and had to be split.
public struct RequestPlanner: Sendable {
    /// Largest hole (in registers or bits) a merged read may span.
    public var maxGap: Int
    /// Largest hole in bit tables.
    public var maxBitGap: Int

    public init(maxGap: Int = 8, maxBitGap: Int = 64) {
        self.maxGap = maxGap
        self.maxBitGap = maxBitGap
    }

    /// Barriers are keyed by table: a read may not contain both `a - 1` and `a` for a barrier `a`.
    public typealias Barriers = [RegisterTable: Set<Int>]

    public func plan(_ points: [PointSpec], profile: Profile, barriers: Barriers = [:]) -> [ReadRequest] {
        var requests: [ReadRequest] = []
        for table in RegisterTable.allCases {
            let sorted = points.filter { $0.table == table }.sorted { $0.address < $1.address }
            let limit = table.isBits ? profile.maxBitsPerRead : profile.maxRegistersPerRead
            let gap = table.isBits ? maxBitGap : maxGap
            let walls = barriers[table] ?? []
            var current: ReadRequest?
            for point in sorted {
                if var run = current {
                    let newLast = max(run.lastAddress, point.lastAddress)
                    let fits = newLast - run.address + 1 <= limit
                    let close = point.address - run.lastAddress - 1 <= gap
                    let crossesWall = walls.contains { $0 > run.address && $0 <= point.address }
                    if fits && close && !crossesWall {
                        run.count = newLast - run.address + 1
                        run.points.append(point)
                        current = run
                        continue
                    }
                    requests.append(run)
                }
                current = ReadRequest(table: table, address: point.address, count: point.width, points: [point])
            }
            if let run = current { requests.append(run) }
        }
        return requests
    }

    /// Where to split a read that was refused with "illegal data address": at every hole between
    /// its points, or between every point when it had no holes. Empty when it cannot be split.
    public static func splitBarriers(for request: ReadRequest) -> Set<Int> {
        let points = request.points.sorted { $0.address < $1.address }
        guard points.count > 1 else { return [] }
        var walls: Set<Int> = []
        for (a, b) in zip(points, points.dropFirst()) where b.address > a.lastAddress + 1 {
            walls.insert(b.address)
        }
        if walls.isEmpty { walls = Set(points.dropFirst().map(\.address)) }
        return walls
    }

    /// The fewest reads possible for these points under the read limit alone (no gap rule): the
    /// benchmark's lower bound.
    public static func lowerBound(_ points: [PointSpec], profile: Profile) -> Int {
        RequestPlanner(maxGap: 65536, maxBitGap: 65536).plan(points, profile: profile).count
    }
}
