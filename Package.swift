// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Waystation",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "waystationd", targets: ["waystationd"]),
        .executable(name: "waystationctl", targets: ["waystationctl"]),
        .executable(name: "waystation-sim", targets: ["waystation-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // libmodbus, through pkg-config; shim.h re-exports its error macros as constants.
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        // Config and profile model, TOML loading, register codec. No I/O beyond reading files.
        .target(
            name: "WaystationCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: strict
        ),
        // Modbus client over libmodbus: one owner per context, on a dedicated thread per bus.
        .target(
            name: "WaystationModbus",
            dependencies: [
                "CModbus", "WaystationCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Station simulator: libmodbus in server mode, physics, faults.
        .target(
            name: "WaystationSim",
            dependencies: [
                "CModbus", "WaystationCore", "WaystationModbus",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Polling engine: request planning, scheduling, device health, storage.
        .target(
            name: "WaystationPolling",
            dependencies: [
                "WaystationCore", "WaystationModbus",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Check-ins: pseudonymised visits, occupancy, statistics.
        .target(
            name: "WaystationVisits",
            dependencies: [
                "WaystationCore", "WaystationPolling",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Alert rules, their lifecycle, the charging-slot interlocks, and notification delivery.
        .target(
            name: "WaystationAlerts",
            dependencies: [
                "WaystationCore", "WaystationModbus", "WaystationPolling",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The daemon's services: lifecycle, systemd notification, logging, control socket.
        .target(
            name: "WaystationDaemon",
            dependencies: [
                "WaystationCore", "WaystationPolling", "WaystationVisits", "WaystationAlerts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // struct ucred and getgrouplist, which Swift's Glibc module does not reach.
        .target(name: "CShim"),
        // The control interface: varlink on a Unix socket.
        .target(
            name: "WaystationControl",
            dependencies: [
                "CShim", "WaystationCore", "WaystationModbus", "WaystationPolling", "WaystationDaemon", "WaystationVisits",
                "WaystationAlerts",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["io.waystation.Station.varlink"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystationd",
            dependencies: [
                "WaystationCore", "WaystationModbus", "WaystationPolling", "WaystationDaemon", "WaystationControl",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystationctl",
            dependencies: [
                "WaystationCore", "WaystationControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "waystation-sim",
            dependencies: [
                "WaystationCore", "WaystationSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // `make bench`: figures for speed, CPU, memory and bytes written.
        .executableTarget(
            name: "waystation-bench",
            dependencies: [
                "CModbus", "WaystationCore", "WaystationModbus", "WaystationPolling", "WaystationSim",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "WaystationTests",
            dependencies: [
                "WaystationCore", "WaystationModbus", "WaystationSim", "WaystationPolling", "WaystationDaemon", "WaystationControl", "WaystationVisits", "WaystationAlerts", "CModbus",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
