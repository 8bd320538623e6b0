import ArgumentParser
import Foundation
import WaystationLink
import WaystationLinkClient

/// `waystation-uplink redeem`: spends a rider's district points at the hub, once per key. The station
/// cannot do it alone: the balance is the district's, checked there so that points are never spent
/// twice at two stations. `waystationctl riders redeem` runs this with what the daemon knows.
struct RedeemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem",
        abstract: "Redeem a rider's district points for a gift at the hub (waystationctl riders redeem runs it).",
        discussion: """
            The rider's district pseudonym is read from the first line of stdin (never from the command \
            line). Exit status: 0 redeemed (or redeemed before under the same --key), 1 refused (not \
            enough points, unknown rider), 69 the hub is not reachable, 78 the link's settings are unusable.
            """)

    @Option(help: "The hub's URL ([district] url).") var url: String
    @Option(help: "This station's id at the hub ([district] station).") var station: String
    @Option(help: "The station's token file ([district] token_file).") var tokenFile: String
    @Option(help: "The hub's CA file ([district] ca_file).") var caFile: String
    @Option(help: "Points to spend (1 to 100000).") var points: Int
    @Option(help: "The gift, as the ledger will say it.") var gift: String
    @Option(help: "Idempotency key: the same key twice spends once.") var key: String
    @Option(help: "Who records it (the ledger's who).") var by: String

    func validate() throws {
        guard (1...100_000).contains(points) else { throw ValidationError("--points must be 1 to 100000") }
        guard !gift.isEmpty, gift.count <= 200 else { throw ValidationError("--gift must be 1 to 200 characters") }
        guard !key.isEmpty, key.count <= 128 else { throw ValidationError("--key must be 1 to 128 characters") }
    }

    func run() async throws {
        let rider = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
        guard !rider.isEmpty else { throw ValidationError("no district pseudonym on stdin") }
        let hub: HubClient
        do {
            hub = try HubClient(baseURL: url, station: station, tokenFile: tokenFile, caFile: caFile)
        } catch {
            Self.fail("the district link's settings: \(error)")
            throw ExitCode(78)
        }
        let outcome: Result<RedeemResponse, HubClientError>
        do {
            outcome = .success(
                try await hub.redeem(RedeemRequest(rider: rider, points: points, gift: gift, key: key, by: by)))
        } catch {
            outcome = .failure(error)
        }
        try? await hub.shutdown()
        switch outcome {
        case .success(let r):
            print("redeemed \(points) points for \(gift); the rider's district balance is now \(r.balance)")
        case .failure(.insufficient(let balance)):
            Self.fail("not enough points: the rider's district balance is \(balance); nothing was redeemed")
            throw ExitCode(1)
        case .failure(let error) where error.isTransient || Self.isUnreachable(error):
            Self.fail(
                "the district hub is not reachable (\(error)). Redeeming needs the hub, so that points are never "
                    + "spent twice at two stations: nothing is recorded here. Try again when the link is up; if "
                    + "the hub did take this one, the same command with --key \(key) still redeems only once.")
            throw ExitCode(69)
        case .failure(let error):
            Self.fail("the hub refused: \(error)")
            throw ExitCode(1)
        }
    }

    static func isUnreachable(_ error: HubClientError) -> Bool {
        if case .unreachable = error { return true }
        return false
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data("waystation-uplink redeem: \(message)\n".utf8))
    }
}
