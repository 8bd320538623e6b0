import DistrictStorage
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import WaystationDistrict
import WaystationLink
import WaystationLinkClient

/// Every district suite runs under this one, one test at a time: each starts its own PostgreSQL and
/// hub, and Foundation's Process misses a child's exit while another test's long-lived server holds an
/// inherited descriptor. A hang fails the test after the time limit instead of stalling the run.
@Suite("District hub", .serialized, .timeLimit(.minutes(3)))
struct DistrictSuite {}

/// A real hub for one test: PostgreSQL 15, a throwaway CA and server certificate made with the
/// `openssl` CLI, hub.toml and key files, and the HTTPS listener on a free loopback port.
struct TestHub: Sendable {
    let dir: String
    let config: HubConfig
    let keys: HubKeys
    let store: HubStore
    let port: Int
    let clients: ClientBag
    var baseURL: String { "https://127.0.0.1:\(port)" }
    var caPEM: String { (try? String(contentsOfFile: config.ca, encoding: .utf8)) ?? "" }

    static let categories = """
        [[category]]
        id = "pothole"
        name = "Pothole"
        name_zh = "坑洞"
        points = 5

        [[category]]
        id = "manhole"
        name = "Open manhole"
        name_zh = "井盖缺失"
        points = 10
        """

    /// Runs `body` against a fresh hub; everything is stopped and removed afterwards.
    static func with(
        lookupsPerHour: Int = 1000, _ body: @Sendable (TestHub) async throws -> Void
    ) async throws {
        let pg = try await TestPostgres.start()
        let dir = try TempDir.make("district-hub")
        do {
            try await run(pg: pg, dir: dir, lookupsPerHour: lookupsPerHour, body)
        } catch {
            print("TestHub: \(String(reflecting: error))")
            await pg.stop()
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
        await pg.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    private static func run(
        pg: TestPostgres, dir: String, lookupsPerHour: Int, _ body: @Sendable (TestHub) async throws -> Void
    ) async throws {
        try await makeCertificates(dir)
        let toml = """
            [district]
            id = "hanyang"
            name = "Hanyang District"

            [database]
            url = "\(pg.url)"

            [web]
            listen = "127.0.0.1:0"

            [tls]
            certificate = "hub.pem"
            key = "hub.key"
            ca = "ca.pem"

            [privacy]
            rider_key = "rider.key"
            hpke_key = "hpke.key"

            [limits]
            lookups_per_hour = \(lookupsPerHour)

            \(categories)
            """
        try toml.write(toFile: dir + "/hub.toml", atomically: true, encoding: .utf8)
        let config = try HubConfig.load(dir + "/hub.toml")
        _ = try HubKeys.initialize(config)
        let keys = try HubKeys.load(config)
        let logger = {
            var logger = Logger(label: "district-test")
            logger.logLevel = .notice
            return logger
        }()
        let db = DistrictDatabase(url: config.database, logger: logger)
        try await db.withRunning { db in
            try await db.migrate()
            let store = HubStore(db: db)
            try await store.syncCategories(config.categories)
            let server = HubServer(config: config, keys: keys, store: store, logger: logger)
            let bound = Mutex<Int?>(nil)
            let group = ServiceGroup(
                configuration: .init(
                    services: try server.services { _, port in bound.withLock { $0 = port } }, logger: logger))
            let task = Task { try await group.run() }
            let clients = ClientBag()
            do {
                let port = try await waitFor("the hub listening") { bound.withLock { $0 } }
                try await body(
                    TestHub(dir: dir, config: config, keys: keys, store: store, port: port, clients: clients))
                await clients.shutdown()
            } catch {
                await clients.shutdown()
                await group.triggerGracefulShutdown()
                _ = try? await task.value
                throw error
            }
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }

    /// A CA, and a server certificate it signed for 127.0.0.1 and localhost.
    static func makeCertificates(_ dir: String) async throws {
        let ossl = "/usr/bin/openssl"
        try await Run.checked(
            ossl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "2", "-subj", "/CN=Test District CA",
            ])
        try await Run.checked(
            ossl,
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                dir + "/hub.key", "-out", dir + "/hub.csr", "-subj", "/CN=localhost",
            ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
        try await Run.checked(
            ossl,
            [
                "x509", "-req", "-in", dir + "/hub.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
                "-CAcreateserial", "-out", dir + "/hub.pem", "-days", "2", "-extfile", dir + "/ext.cnf",
            ])
    }

    /// Enrols `id` (as `stations add` does) and returns a HubClient reading the files it wrote.
    func enrol(_ id: String) async throws -> HubClient {
        let out = dir + "/stations/" + id
        _ = try await Enrolment.enrol(
            id: id, name: "Station \(id)", address: "Hanyang Rd \(id)", out: out, url: baseURL, config: config,
            keys: keys, store: store)
        return clients.add(
            try HubClient(baseURL: baseURL, station: id, tokenFile: out + "/token", caFile: out + "/hub-ca.pem"))
    }

    /// A client for `station`'s URL with another token (to test 401/403).
    func client(station: String, token: String) throws -> HubClient {
        clients.add(try HubClient(baseURL: baseURL, station: station, token: token, caPEM: caPEM))
    }

    /// Seals a raw (normalised) id for `station` to this hub's key.
    func seal(_ id: String, ref: String, for station: String) throws -> SealedRider {
        try RiderSeal.seal(id, ref: ref, station: station, to: keys.hpke.publicKey)
    }
}

/// Every client a test made, shut down at its end even when it failed (an HTTPClient dropped
/// without shutdown stops the process).
final class ClientBag: Sendable {
    private let all = Mutex<[HubClient]>([])

    func add(_ client: HubClient) -> HubClient {
        all.withLock { $0.append(client) }
        return client
    }

    func shutdown() async {
        for client in all.withLock({ $0 }) { try? await client.shutdown() }
    }
}

/// Polls `probe` until it yields a value, for up to `seconds`.
func waitFor<T: Sendable>(
    _ what: String, seconds: Int = 60, _ probe: @Sendable () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out waiting for \(what)")
}

/// The HubClientError `body` throws (a test failure when it throws none or another error).
func refusal<T>(_ what: String, _ body: () async throws -> T) async throws -> HubClientError {
    do {
        _ = try await body()
    } catch let error as HubClientError {
        return error
    }
    throw TestFailure("\(what): no error")
}

/// Closes a client even when the test body throws.
func using<T: Sendable>(_ client: HubClient, _ body: (HubClient) async throws -> T) async throws -> T {
    do {
        let out = try await body(client)
        try await client.shutdown()
        return out
    } catch {
        try? await client.shutdown()
        throw error
    }
}
