// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "Tether",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TetherCore", targets: ["TetherCore"]),
        .library(name: "TetherRuntime", targets: ["TetherRuntime"]),
        .library(name: "TetherOpenAI", targets: ["TetherOpenAI"]),
        .library(name: "TetherAgents", targets: ["TetherAgents"]),
        .library(name: "TetherSQLite", targets: ["TetherSQLite"]),
        .library(name: "TetherPostgres", targets: ["TetherPostgres"]),
        .executable(name: "tether", targets: ["TetherCLI"]),
        .executable(name: "tether-bench", targets: ["TetherBenchmarks"]),
        .executable(name: "tether-test-server", targets: ["TetherTestServer"]),
        .executable(name: "tether-load", targets: ["TetherLoad"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Statuses, events, the cancel token, the Agent protocol and the tool facade. No I/O.
        .target(name: "TetherCore"),
        // The run supervisor, the event log, memory stores and the simulated LLM.
        .target(
            name: "TetherRuntime",
            dependencies: [
                "TetherCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Agent definition files: load, validate, interpret.
        .target(name: "TetherAgents", dependencies: ["TetherCore"]),
        // Runs, events and the data store in SQLite (the embedded default).
        .target(
            name: "TetherSQLite",
            dependencies: [
                "TetherCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs, events and the data store in PostgreSQL, shared by several instances.
        .target(
            name: "TetherPostgres",
            dependencies: [
                "TetherCore", "TetherRuntime",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The OpenAI-compatible chat-completions client.
        .target(
            name: "TetherOpenAI",
            dependencies: [
                "TetherCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Settings (flags over environment variables) and the assembly of a Tether process.
        .target(
            name: "TetherApp",
            dependencies: [
                "TetherCore", "TetherRuntime", "TetherAgents", "TetherOpenAI", "TetherSQLite", "TetherPostgres",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP interface: JSON API, Server-Sent Events and the Runs screen.
        .target(
            name: "TetherWeb",
            dependencies: [
                "TetherCore", "TetherRuntime", "TetherApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The `tether` executable: `tether serve` (the default) and `tether run AGENT`.
        .executableTarget(
            name: "TetherCLI",
            dependencies: [
                "TetherCore", "TetherRuntime", "TetherApp", "TetherWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // libxml2's HTML parser, for the tests that check every rendered page. Test-only.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // Test doubles shared by the test targets and the benchmark: a loopback chat server
        // that holds its answers, and a gated LLM. Never linked into `tether`.
        .target(
            name: "TetherTestSupport",
            dependencies: [
                "TetherCore",
                "TetherRuntime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // `tether serve` with test agents written in Swift (one that spins ignoring every
        // stop), for the process tests. Never shipped.
        .executableTarget(
            name: "TetherTestServer",
            dependencies: ["TetherCore", "TetherApp", "TetherWeb", "TetherTestSupport"]
        ),
        // The load tool of BENCHMARKS.md: a stub LLM, `tether serve`, many runs, subscribers
        // and stops, measured from outside.
        .executableTarget(
            name: "TetherLoad",
            dependencies: [
                "TetherCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "TetherBenchmarks",
            dependencies: ["TetherCore", "TetherRuntime", "TetherSQLite", "TetherTestSupport"]
        ),
        .testTarget(name: "TetherCoreTests", dependencies: ["TetherCore"]),
        .testTarget(name: "TetherAppTests", dependencies: ["TetherApp", "TetherCore"]),
        .testTarget(
            name: "TetherSQLiteTests",
            dependencies: [
                "TetherCore", "TetherRuntime", "TetherSQLite", "TetherPostgres", "TetherTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TetherWebTests",
            dependencies: [
                "TetherCore", "TetherRuntime", "TetherApp", "TetherWeb", "TetherSQLite", "TetherOpenAI", "TetherTestSupport", "CLibXML2",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "TetherAgentsTests",
            dependencies: ["TetherCore", "TetherAgents", "TetherRuntime", "TetherTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TetherRuntimeTests",
            dependencies: ["TetherCore", "TetherRuntime", "TetherOpenAI", "TetherTestSupport"]
        ),
        .testTarget(
            name: "TetherOpenAITests",
            dependencies: [
                "TetherApp", "TetherCore", "TetherOpenAI", "TetherTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)
