import Foundation
import PostgresNIO
import Testing
import WaystationDistrict
import WaystationLink
import WaystationLinkClient

extension DistrictSuite {
    @Suite("District riders and ledger", .serialized)
    struct LedgerTests {
        /// Looks up `raw` at `client`'s station; its district pseudonym.
        static func pseudonym(_ raw: String, _ hub: TestHub, _ client: HubClient) async throws -> String {
            let answer = try await client.lookup(
                LookupRequest(sealed: [try hub.seal(raw, ref: "ref-\(raw)", for: client.station)]))
            return try #require(answer.riders.first?.district)
        }

        @Test("a tampered sealed id, or one sealed for another station, is refused on its own")
        func tampered() async throws {
            try await TestHub.with(lookupsPerHour: 5) { hub in
                try await using(try await hub.enrol("fl-001")) { client in
                    let good = try hub.seal("13800138000", ref: "good", for: "fl-001")
                    var flipped = try hub.seal("13900139000", ref: "flipped", for: "fl-001")
                    var ct = try #require(Data(base64Encoded: flipped.ct))
                    ct[0] ^= 0x01
                    flipped.ct = ct.base64EncodedString()
                    let elsewhere = try hub.seal("13700137000", ref: "elsewhere", for: "fl-999")
                    let answer = try await client.lookup(LookupRequest(sealed: [flipped, good, elsewhere]))
                    #expect(answer.riders.map(\.ref) == ["good"])
                    #expect(answer.riders.first?.district == hub.keys.pseudonym("13800138000"))
                    #expect(Set(answer.refused.map(\.ref)) == ["flipped", "elsewhere"])
                    // The limit (5 an hour) counts items: 3 used, 2 left; 3 more are refused with 429.
                    let three = try (1...3).map { try hub.seal("1860000000\($0)", ref: "r\($0)", for: "fl-001") }
                    do {
                        let error = try await refusal("the look-up limit was not enforced") {
                            try await client.lookup(LookupRequest(sealed: three))
                        }
                        guard case .rateLimited = error else { throw error }
                    }
                    let two = try await client.lookup(LookupRequest(sealed: Array(three.prefix(2))))
                    #expect(two.riders.count == 2)
                }
            }
        }

        @Test("redeem: never below zero, the same key spends once, two stations cannot spend twice")
        func redeem() async throws {
            try await TestHub.with { hub in
                let a = try await hub.enrol("fl-a")
                let b = try await hub.enrol("fl-b")
                let rider = try await Self.pseudonym("13800138000", hub, a)
                #expect(try await Self.pseudonym("13800138000", hub, b) == rider)  // one rider across the district
                _ = try await a.sendReports(
                    ReportsRequest(reports: [SyncTests.report(1, "pothole", rider: rider)]))
                _ = try await b.sendReports(
                    ReportsRequest(reports: [SyncTests.report(1, "pothole", rider: rider)]))
                for r in try await hub.store.reports(status: "pending") {
                    try await hub.store.verify(report: r.id, note: nil, by: "clerk")
                }
                #expect(try await hub.store.balance(rider: rider).balance == 10)  // credited from both stations

                do {
                    let error = try await refusal("a balance went below zero") {
                        try await a.redeem(
                            RedeemRequest(rider: rider, points: 11, gift: "umbrella", key: "k0", by: "desk"))
                    }
                    guard case .insufficient(let balance) = error else { throw error }
                    #expect(balance == 10)
                }
                let bottle = RedeemRequest(rider: rider, points: 4, gift: "water bottle", key: "k1", by: "desk")
                #expect(try await a.redeem(bottle).balance == 6)
                #expect(try await a.redeem(bottle).balance == 6)  // the same key again: one entry
                #expect(try await hub.store.balance(rider: rider).recent.filter { $0.points < 0 }.count == 1)

                // Both stations spend 6 of the 6 at once: exactly one wins.
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for (client, key) in [(a, "ka"), (b, "kb")] {
                        group.addTask {
                            do {
                                _ = try await client.redeem(
                                    RedeemRequest(rider: rider, points: 6, gift: "cap", key: key, by: "desk"))
                                return true
                            } catch {
                                guard let refused = error as? HubClientError, case .insufficient = refused else {
                                    throw error
                                }
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 1)
                #expect(try await hub.store.balance(rider: rider).balance == 0)

                // The ledger is append-only, even for the database's owner.
                await #expect(throws: (any Error).self) {
                    try await hub.store.db.client.query("UPDATE ledger SET points = 100")
                }
                #expect(try await hub.store.balance(rider: rider).balance == 0)
                try await a.shutdown()
                try await b.shutdown()
            }
        }

        @Test("a station cannot redeem for a rider it never looked up")
        func redeemUnknownRider() async throws {
            try await TestHub.with { hub in
                let a = try await hub.enrol("fl-a")
                let b = try await hub.enrol("fl-b")
                let rider = try await Self.pseudonym("13800138000", hub, a)
                do {
                    let error = try await refusal("a station redeemed for a rider it does not know") {
                        try await b.redeem(RedeemRequest(rider: rider, points: 1, gift: "pen", key: "k", by: "desk"))
                    }
                    guard case .refused(let status, _, _) = error, status == 404 else { throw error }
                }
                try await a.shutdown()
                try await b.shutdown()
            }
        }
    }
}
