import Foundation
import PostgresNIO
import Testing
import WaystationDistrict
import WaystationLink
import WaystationLinkClient

extension DistrictSuite {
    @Suite("District sync", .serialized)
    struct SyncTests {
        static func report(_ id: Int, _ category: String, rider: String?) -> DistrictReport {
            DistrictReport(
                id: id, key: "fl-001-report-\(id)", category: category, location: "Gate \(id), Hanyang Rd",
                note: "loose cover", rider: rider, created: "2026-12-07T08:15:00+08:00")
        }

        @Test("enrol, look up a rider, send reports; a verdict and the balance come back in changes, once")
        func roundTrip() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-001")) { client in
                    let sealed = try hub.seal("13800138000", ref: "st-pseudo-1", for: "fl-001")
                    let looked = try await client.lookup(LookupRequest(sealed: [sealed]))
                    #expect(looked.refused.isEmpty)
                    #expect(looked.riders.count == 1)
                    let district = try #require(looked.riders.first?.district)
                    #expect(district == hub.keys.pseudonym("13800138000"))
                    #expect(district.count == 32)

                    let reports = [
                        Self.report(1, "pothole", rider: district), Self.report(2, "graffiti", rider: district),
                    ]
                    let first = try await client.sendReports(ReportsRequest(reports: reports))
                    #expect(first.accepted == [1, 2])
                    #expect(first.flagged == [2])
                    // The same batch again (a retry after a lost answer): accepted, stored once.
                    let again = try await client.sendReports(ReportsRequest(reports: reports))
                    #expect(again.accepted == [1, 2])
                    let stored = try await hub.store.reports(status: "pending")
                    #expect(stored.count == 2)

                    // First changes: the category table, no verdict yet, the rider's (zero) balance.
                    let initial = try await client.changes(since: "")
                    #expect(initial.verdicts.isEmpty)
                    #expect(initial.categories?.map(\.id) == ["manhole", "pothole"])
                    #expect(initial.balances.map(\.balance) == [0])

                    let pothole = try #require(stored.first { $0.stationReport == 1 })
                    #expect(try await hub.store.verify(report: pothole.id, note: "fixed", by: "clerk") == 5)
                    await #expect(throws: HubError.self) {
                        try await hub.store.verify(report: pothole.id, note: nil, by: "clerk")
                    }

                    let changes = try await client.changes(since: initial.cursor)
                    #expect(changes.verdicts.map(\.id) == [1])
                    #expect(changes.verdicts.first?.verdict == "verified")
                    #expect(changes.verdicts.first?.points == 5)
                    #expect(changes.verdicts.first?.note == "fixed")
                    #expect(changes.categories == nil)
                    #expect(changes.balances.map(\.rider) == [district])
                    #expect(changes.balances.first?.balance == 5)
                    #expect(changes.balances.first?.recent.first?.points == 5)

                    // Notices and services: every station's, and this station's, not another's.
                    let all = try await hub.store.addNotice(
                        title: "Free health check", titleZh: "免费体检", body: nil, bodyZh: nil,
                        from: "2026-12-08T09:00:00+08:00", until: "2026-12-08T17:00:00+08:00", stations: nil)
                    _ = try await hub.store.addNotice(
                        title: "Elsewhere", titleZh: nil, body: nil, bodyZh: nil, from: "2026-12-08T09:00:00+08:00",
                        until: "2026-12-08T17:00:00+08:00", stations: ["fl-777"])
                    try await hub.store.putService(
                        DistrictService(
                            id: "legal-aid", name: "Legal aid", nameZh: "法律援助", description: nil, descriptionZh: nil,
                            withdrawn: false), stations: ["fl-001"])
                    let news = try await client.changes(since: changes.cursor)
                    #expect(news.notices.map(\.id) == [all])
                    #expect(news.notices.first?.from == "2026-12-08T01:00:00Z")
                    #expect(news.services.map(\.id) == ["legal-aid"])
                    #expect(news.verdicts.isEmpty)

                    // Nothing new since: nothing again (applying twice would be harmless, but is not needed).
                    let quiet = try await client.changes(since: news.cursor)
                    #expect(quiet.verdicts.isEmpty)
                    #expect(quiet.notices.isEmpty)
                    #expect(quiet.services.isEmpty)
                    #expect(quiet.balances.isEmpty)
                    #expect(quiet.categories == nil)

                    // A retried report after the verdict does not re-open or re-credit it.
                    _ = try await client.sendReports(ReportsRequest(reports: reports))
                    #expect(try await hub.store.balance(rider: district).balance == 5)
                }
            }
        }

        @Test("visits are absolute per day and category; state marks the station seen")
        func visitsAndState() async throws {
            try await TestHub.with { hub in
                try await using(try await hub.enrol("fl-002")) { client in
                    try await client.sendVisits(
                        VisitsRequest(days: [
                            DayVisits(day: "2026-12-07", category: "delivery", visits: 12),
                            DayVisits(day: "2026-12-07", category: "taxi", visits: 3),
                        ]))
                    try await client.sendVisits(
                        VisitsRequest(days: [DayVisits(day: "2026-12-07", category: "delivery", visits: 15)]))
                    let visits = try await hub.store.visits(station: "fl-002")
                    #expect(
                        visits == [
                            DayVisits(day: "2026-12-07", category: "delivery", visits: 15),
                            DayVisits(day: "2026-12-07", category: "taxi", visits: 3),
                        ])
                    await #expect(throws: HubClientError.self) {
                        try await client.sendVisits(
                            VisitsRequest(days: [DayVisits(day: "7 Dec", category: "delivery", visits: 1)]))
                    }
                    #expect(try await hub.store.stations().first?.lastSeen == nil)
                    try await client.sendState(
                        StationState(software: "1.4.0", config: "abc123", reported: "2026-12-07T08:00:00Z"))
                    let station = try #require(try await hub.store.stations().first)
                    #expect(station.lastSeen != nil)
                    #expect(station.software == "1.4.0")
                }
            }
        }

        @Test("unknown and revoked tokens answer 401, another station's URL 403")
        func credentials() async throws {
            try await TestHub.with { hub in
                let a = try await hub.enrol("fl-a")
                let b = try await hub.enrol("fl-b")
                let tokenA = try String(contentsOfFile: hub.dir + "/stations/fl-a/token", encoding: .utf8)
                try await using(try hub.client(station: "fl-b", token: tokenA)) { foreign in
                    do {
                        let error = try await refusal("fl-a's token read fl-b's changes") {
                            try await foreign.changes(since: "")
                        }
                        guard case .forbidden = error else { throw error }
                    }
                }
                try await using(try hub.client(station: "fl-a", token: Enrolment.newToken())) { stranger in
                    do {
                        let error = try await refusal("an unknown token was accepted") {
                            try await stranger.changes(since: "")
                        }
                        guard case .revoked(let code, _) = error, code == "unauthorized" else { throw error }
                    }
                }
                _ = try await a.changes(since: "")
                #expect(try await hub.store.revokeStation("fl-a"))
                do {
                    let error = try await refusal("a revoked station was accepted") {
                        try await a.sendReports(ReportsRequest(reports: [SyncTests.report(1, "pothole", rider: nil)]))
                    }
                    guard case .revoked(let code, _) = error, code == "revoked" else { throw error }
                }
                #expect(try await hub.store.reports(status: nil).isEmpty)
                _ = try await b.changes(since: "")  // the other station is unaffected
                try await a.shutdown()
                try await b.shutdown()
            }
        }

        @Test("a client that does not trust the hub's CA is refused before any data crosses")
        func untrustedHub() async throws {
            try await TestHub.with { hub in
                _ = try await hub.enrol("fl-c")
                let other = try TempDir.make("other-ca")
                defer { try? FileManager.default.removeItem(atPath: other) }
                try await TestHub.makeCertificates(other)
                let token = try String(contentsOfFile: hub.dir + "/stations/fl-c/token", encoding: .utf8)
                let ca = try String(contentsOfFile: other + "/ca.pem", encoding: .utf8)
                let foreignCA = try HubClient(
                    baseURL: hub.baseURL, station: "fl-c", token: token, caPEM: ca, timeout: .seconds(3))
                try await using(foreignCA) { c in
                    do {
                        let error = try await refusal("a hub certificate from another CA was trusted") {
                            try await c.changes(since: "")
                        }
                        guard case .untrusted = error else { throw error }
                    }
                }
                let closed = try HubClient(
                    baseURL: "https://127.0.0.1:1", station: "fl-c", token: token, caPEM: hub.caPEM,
                    timeout: .seconds(3))
                try await using(closed) { c in
                    do {
                        let error = try await refusal("a closed port answered") { try await c.changes(since: "") }
                        guard case .unreachable = error else { throw error }
                        #expect(error.isTransient)
                    }
                }
            }
        }
    }
}
