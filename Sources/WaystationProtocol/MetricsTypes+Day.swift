/// Visits of one local calendar day (station time), so far: "riders today" is the calendar day,
/// not the last 24 hours or the days since the daemon started.
public struct DayFigures: Codable, Sendable, Equatable {
    /// `2026-12-07`, the station's local date.
    public var date: String
    /// Unix time of the day's local midnight.
    public var start: Double
    public var checkIns: Int
    public var checkOuts: Int
    public var uniqueRiders: Int
    /// Seconds, over the visits that ended today; nil when none did.
    public var meanStay: Double?

    enum CodingKeys: String, CodingKey {
        case date, start
        case checkIns = "check_ins"
        case checkOuts = "check_outs"
        case uniqueRiders = "unique_riders"
        case meanStay = "mean_stay"
    }

    public init(date: String, start: Double, checkIns: Int, checkOuts: Int, uniqueRiders: Int, meanStay: Double?) {
        self.date = date
        self.start = start
        self.checkIns = checkIns
        self.checkOuts = checkOuts
        self.uniqueRiders = uniqueRiders
        self.meanStay = meanStay
    }
}
