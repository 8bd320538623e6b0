import ArgumentParser
import DistrictStorage
import Foundation
import Logging
import WaystationDistrict
import WaystationLink

struct District: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waystation-district",
        abstract: "The district hub: enrolled stations sync reports, visits and riders' points over HTTPS.",
        subcommands: [
            Serve.self, Migrate.self, Keys.self, Stations.self, Reports.self, Notices.self, Services.self, Riders.self,
            Users.self,
        ])
}

/// `--config FILE` (default /etc/waystation/hub.toml) and what every command builds from it.
struct Global: ParsableArguments {
    @Option(help: "The hub's config file.") var config = "/etc/waystation/hub.toml"

    func load() throws -> HubConfig {
        do {
            return try HubConfig.load(config)
        } catch {
            FileHandle.standardError.write(Data("waystation-district: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    func keys(_ config: HubConfig) throws -> HubKeys {
        do {
            return try HubKeys.load(config)
        } catch {
            FileHandle.standardError.write(Data("waystation-district: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    /// Runs `body` with the database; `migrate` first when asked, else refuses an unmigrated one.
    func withStore<T: Sendable>(
        _ config: HubConfig, migrate: Bool = false, _ body: @Sendable (HubStore) async throws -> T
    ) async throws -> T {
        let db = DistrictDatabase(url: config.database, logger: Logger(label: "waystation-district"))
        do {
            return try await db.withRunning { db in
                if migrate {
                    try await db.migrate()
                } else {
                    let have = try await db.versions()
                    guard have.last == DistrictMigrations.all.last?.version else {
                        throw NotMigrated()
                    }
                }
                return try await body(HubStore(db: db))
            }
        } catch is NotMigrated {
            fail("the database is not migrated: run waystation-district --config \(self.config) migrate")
        } catch let error as HubError {
            fail(error.description)
        } catch let error as HubConfigError {
            FileHandle.standardError.write(Data("waystation-district: \(error)\n".utf8))
            throw ExitCode(78)
        } catch {
            fail("\(String(reflecting: error))")
        }
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("waystation-district: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

struct NotMigrated: Error {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Migrate the database, then serve HTTPS.")
    @OptionGroup var global: Global

    func run() async throws {
        let config = try global.load()
        let keys = try global.keys(config)
        let logger = Logger(label: "waystation-district")
        do {
            _ = try HubServer.tls(config)
        } catch {
            FileHandle.standardError.write(Data("waystation-district: \(error)\n".utf8))
            throw ExitCode(78)
        }
        try await global.withStore(config, migrate: true) { store in
            try await HubServer(config: config, keys: keys, store: store, logger: logger).run()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations not yet applied.")
    @OptionGroup var global: Global

    func run() async throws {
        let config = try global.load()
        let versions = try await global.withStore(config, migrate: true) { store in try await store.db.versions() }
        print("schema at version \(versions.last ?? 0)")
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The privacy keys.", subcommands: [Init.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create [privacy] rider_key and hpke_key if missing (never overwrites).")
        @OptionGroup var global: Global

        func run() async throws {
            let config = try global.load()
            do {
                let made = try HubKeys.initialize(config)
                for path in made { print("created \(path)") }
                if made.isEmpty { print("both key files exist; nothing changed") }
            } catch {
                FileHandle.standardError.write(Data("waystation-district: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
    }
}
