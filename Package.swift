// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]
/// The daemon's closure imports FoundationEssentials, never full Foundation (issue 15: ICU and
/// libFoundation cost ~8 MiB of RSS). Member lookups must not leak in through another module's
/// Foundation import either, or the closure would break once that import goes.
let essentials: [SwiftSetting] =
    strict + [
        .enableUpcomingFeature("MemberImportVisibility")
    ]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "Waystation",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "waystationd", targets: ["waystationd"]),
        .executable(name: "waystationctl", targets: ["waystationctl"]),
        .executable(name: "waystation-sim", targets: ["waystation-sim"]),
        .executable(name: "waystation-web", targets: ["waystation-web"]),
        .executable(name: "waystation-uplink", targets: ["waystation-uplink"]),
        .executable(name: "waystation-district", targets: ["waystation-district"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        // waystation-web only: HTTP (no swift-configuration support, no full Foundation needed).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // HMAC-SHA256 for rider pseudonyms; since 4.0 it builds on FoundationEssentials only.
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        // waystation-uplink and the hub's client: HTTPS out, through swift-nio-ssl; the hub: PostgreSQL.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // The desk's staff passwords: bcrypt (HummingbirdBcrypt).
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    ],
    targets: [
        // libmodbus, through pkg-config; shim.h re-exports its error macros as constants.
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        // The system libsqlite3 (Debian libsqlite3-dev), through pkg-config; shim.h adds SQLITE_TRANSIENT.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // struct ucred, SO_PEERGROUPS and getgrouplist, which Swift's Glibc module does not reach.
        .target(name: "CShim"),
        // toml++ (Debian libtomlplusplus-dev, a shared library) behind a small C interface: the TOML
        // parser of configs and profiles, its tree handed to Swift as flat items.
        .target(
            name: "CTOML",
            cxxSettings: [.define("TOML_HEADER_ONLY", to: "0"), .define("TOML_SHARED_LIB", to: "1")],
            linkerSettings: [.linkedLibrary("tomlplusplus")]
        ),

        // The control protocol: varlink framing, the request and reply types of io.waystation.Station,
        // its errors, a client, and the interface text (embedded from the one .varlink file). Also the
        // few primitives both sides of the socket share: durations, number text, socket addresses.
        .target(
            name: "WaystationProtocol",
            dependencies: [],
            resources: [.embedInCode("io.waystation.Station.varlink")],
            swiftSettings: essentials
        ),
        // Config and profile model, TOML loading, register codec, and the small contracts the
        // domains share (reload, station snapshots, relays, event broadcasting). No I/O beyond files.
        .target(
            name: "WaystationCore",
            dependencies: ["CShim", "CTOML", "WaystationProtocol"],
            swiftSettings: essentials
        ),
        // Modbus client over libmodbus: one owner per context, on a dedicated thread per bus.
        .target(
            name: "WaystationModbus",
            dependencies: ["CModbus", "WaystationCore", logging],
            swiftSettings: essentials
        ),
        // SQLite through our own thin layer over its C API (one connection on its own serial queue,
        // statements, rows, errors, migrations), plus opening, pragmas, migrations assembled from the
        // domains, durable writes, the audit log. The domains own their tables. No full Foundation.
        .target(
            name: "WaystationStorage",
            dependencies: ["CSQLite", "WaystationCore", logging],
            swiftSettings: strict
        ),
        // Polling engine: request planning, scheduling, device health, value history.
        .target(
            name: "WaystationPolling",
            dependencies: ["WaystationCore", "WaystationModbus", "WaystationStorage", logging, lifecycle],
            swiftSettings: essentials
        ),
        // Check-ins: pseudonymised visits, occupancy, statistics.
        .target(
            name: "WaystationVisits",
            dependencies: [
                "WaystationCore", "WaystationStorage", "WaystationLink", logging, lifecycle,
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: essentials
        ),
        // Alert rules and their lifecycle, the charging-slot interlocks (a pure engine), alert
        // storage, and notification delivery.
        .target(
            name: "WaystationAlerts",
            dependencies: [
                "WaystationCore", "WaystationStorage", logging, lifecycle,
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: essentials
        ),
        // The control socket: a varlink server and io.waystation.Station's methods.
        .target(
            name: "WaystationControl",
            dependencies: [
                "CShim", "WaystationProtocol", "WaystationCore", "WaystationStorage", "WaystationPolling",
                "WaystationVisits", "WaystationAlerts", logging, lifecycle,
            ],
            swiftSettings: essentials
        ),
        // The composition root: builds storage and every service into one ServiceGroup, talks to
        // systemd (notify, watchdog), reloads on SIGHUP, logs to the journal.
        .target(
            name: "WaystationDaemon",
            dependencies: [
                "CShim", "WaystationCore", "WaystationStorage", "WaystationPolling", "WaystationVisits",
                "WaystationAlerts",
                "WaystationControl", logging, lifecycle,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: essentials
        ),
        // The unprivileged web face (waystation-web): the kiosk page, its JSON API and `/metrics`, all
        // fed by the daemon's control socket in the kiosk role. No database, no Modbus, no keys.
        .target(
            name: "WaystationWeb",
            dependencies: [
                "CShim", "WaystationProtocol", "WaystationCore", "VarlinkNIO", logging, lifecycle,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            exclude: ["Kiosk/README.md"],
            resources: [.embedInCode("Kiosk/kiosk.html")],
            swiftSettings: strict
        ),
        // The NUL-framed varlink decoder on SwiftNIO, shared by the two processes that reach the daemon
        // through NIO (waystation-web and waystation-uplink).
        .target(
            name: "VarlinkNIO",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // The unprivileged outbound process (waystation-uplink): takes the daemon's webhook and
        // Alertmanager notifications over the control socket (role uplink) and delivers them over
        // http or https with AsyncHTTPClient, and carries the district link (DistrictSync: the
        // daemon's District* methods <-> the hub's HubClient). No database, no Modbus; the daemon
        // keeps the outbox and the link's queues.
        .target(
            name: "WaystationUplink",
            dependencies: [
                "WaystationProtocol", "WaystationCore", "WaystationLink", "WaystationLinkClient", "VarlinkNIO", logging,
                lifecycle,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Station simulator: libmodbus in server mode, physics, faults.
        .target(
            name: "WaystationSim",
            dependencies: ["CModbus", "WaystationCore", "WaystationModbus", logging],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystationd",
            dependencies: [
                "WaystationCore", "WaystationModbus", "WaystationPolling", "WaystationDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            ],
            swiftSettings: essentials
        ),
        .executableTarget(
            name: "waystationctl",
            dependencies: [
                "WaystationProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: essentials
        ),
        .executableTarget(
            name: "waystation-sim",
            dependencies: [
                "WaystationCore", "WaystationSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystation-web",
            dependencies: [
                "WaystationCore", "WaystationWeb", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                logging,
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystation-uplink",
            dependencies: [
                "WaystationCore", "WaystationUplink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                logging, lifecycle,
            ],
            swiftSettings: strict
        ),
        // District link v1: the wire types between station and hub, HPKE sealing of rider ids. No I/O.
        .target(
            name: "WaystationLink",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: essentials
        ),
        // The hub's PostgreSQL: connection, versioned migrations, every query with bound parameters.
        .target(
            name: "DistrictStorage",
            dependencies: [logging, .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict
        ),
        // The hub: config, station auth, sync endpoints, ledger, Open311 (Hummingbird over TLS).
        .target(
            name: "WaystationDistrict",
            dependencies: [
                "CTOML", "WaystationLink", "DistrictStorage", "WaystationProtocol", logging, lifecycle,
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // The desk's stylesheet and script, served from memory.
            resources: [.embedInCode("Desk/desk.css"), .embedInCode("Desk/desk.js")],
            swiftSettings: strict
        ),
        // HubClient: the station side's HTTPS client of the hub (hub CA pinned, bearer token).
        .target(
            name: "WaystationLinkClient",
            dependencies: [
                "WaystationLink",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystation-district",
            dependencies: [
                "WaystationDistrict", "DistrictStorage", "WaystationLink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            ],
            swiftSettings: strict
        ),
        // toml-test's decoder (`make test` runs the TOML 1.0 suite through it; not installed): one
        // document on stdin, its tagged JSON on stdout, non-zero exit when refused.
        .executableTarget(
            name: "toml-test-decoder",
            dependencies: ["WaystationCore", "WaystationProtocol"],
            swiftSettings: strict
        ),
        // `make bench`: figures for speed, CPU, memory and bytes written.
        .executableTarget(
            name: "waystation-bench",
            dependencies: [
                "CModbus", "WaystationCore", "WaystationModbus", "WaystationStorage", "WaystationPolling",
                "WaystationSim", "TestSupport", logging,
            ],
            swiftSettings: strict
        ),
        // What tests and the benchmark share: spawning and waiting for the real binaries, an HTTP
        // receiver standing in for Alertmanager, condition waits with deadlines.
        .target(
            name: "TestSupport",
            dependencies: [
                "WaystationProtocol", "WaystationCore", .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WaystationTests",
            dependencies: [
                "WaystationProtocol", "WaystationCore", "WaystationModbus", "WaystationStorage", "WaystationSim",
                "WaystationPolling", "WaystationDaemon", "WaystationControl", "WaystationVisits", "WaystationAlerts",
                "CModbus", "TestSupport", "WaystationWeb", "WaystationUplink", logging,
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The hub's tests: a real PostgreSQL 15 per suite, real HTTPS through HubClient.
        .testTarget(
            name: "DistrictTests",
            dependencies: [
                "WaystationLink", "DistrictStorage", "WaystationDistrict", "WaystationLinkClient", "TestSupport", logging,
                lifecycle,
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
