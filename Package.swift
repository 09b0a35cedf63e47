// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "chatd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chatd", targets: ["chatd"]),
        .executable(name: "chatctl", targets: ["chatctl"]),
        .executable(name: "chatc", targets: ["chatc"]),
        .executable(name: "chatbench", targets: ["chatbench"]),
        .library(name: "ChatClient", targets: ["ChatClient"]),
        .library(name: "ChatProtocol", targets: ["ChatProtocol"]),
        // For the micro-benchmarks (Benchmarks/, a package of their own):
        // the server's pieces without sockets.
        .library(name: "ChatCore", targets: ["ChatCore"]),
        .library(name: "ChatServer", targets: ["ChatServer"]),
        .library(name: "ChatFuzzing", targets: ["ChatFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The version and the git commit, written at build time by the plugin.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "ChatBuildInfo", swiftSettings: swiftSettings, plugins: ["BuildInfoPlugin"]),
        .target(
            name: "ChatProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "ChatCore", swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(name: "ChatCrypto", dependencies: ["CSodium", "ChatCore"], swiftSettings: swiftSettings),
        // Web Push message encryption (RFC 8291) on swift-crypto: apart from
        // ChatCrypto so that the fuzzers (which link ChatCrypto) do not build BoringSSL.
        .target(
            name: "ChatWebPush", dependencies: ["ChatCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        // A SQLite VFS that writes a WAL commit's frames in a pwrite per 124 KiB (WALBuffer.c).
        .target(name: "CSQLiteWAL", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "ChatStore",
            dependencies: [
                "ChatCore", "CSQLiteWAL", .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the send path's statements (SQLiteStore.swift, `directRows`).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store (several nodes on one database, DESIGN §9).
        .target(
            name: "ChatPostgres",
            dependencies: [
                "ChatCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatConfig",
            dependencies: ["ChatCore", "TOMLKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatDaemon",
            dependencies: [
                "ChatBuildInfo", "ChatCore", "ChatProtocol", "ChatCrypto", "ChatWebPush", "ChatStore", "ChatPostgres", "ChatServer",
                "ChatConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatServer",
            dependencies: [
                "ChatCore", "ChatProtocol", "ChatBuildInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatClient",
            dependencies: [
                "ChatProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chatd",
            dependencies: [
                "ChatBuildInfo", "ChatDaemon", "ChatConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chatctl",
            dependencies: [
                "ChatBuildInfo", "ChatProtocol", "ChatClient", "ChatConfig", "ChatStore", "ChatTerminal",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The interactive client's screen and keys, as values (no terminal I/O).
        .target(name: "ChatTerminal", swiftSettings: swiftSettings),
        .executableTarget(
            name: "chatc",
            dependencies: [
                "ChatBuildInfo", "ChatProtocol", "ChatClient", "ChatCore", "ChatCrypto", "ChatTerminal",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chatbench",
            dependencies: [
                "ChatBuildInfo", "ChatProtocol", "ChatClient", "ChatCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fuzz harnesses (docs: tools/fuzz). A library so that the fuzz
        // targets and the regression tests run the same code.
        .target(
            name: "ChatFuzzing",
            dependencies: [
                "ChatCore", "ChatProtocol", "ChatServer", "ChatStore", "ChatCrypto", "ChatConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatFuzzTests",
            dependencies: ["ChatFuzzing", "ChatProtocol", "ChatCore", "ChatConfig"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatProtocolTests",
            dependencies: [
                "ChatProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // The rules, without a database.
        .testTarget(
            name: "ChatCoreTests",
            dependencies: ["ChatCore", "ChatCrypto", "ChatWebPush", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // What several test targets share: a throwaway PostgreSQL cluster (tools/pg).
        .target(
            name: "ChatTestSupport",
            dependencies: ["ChatPostgres", "ChatDaemon", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ChatTestSupport",
            swiftSettings: swiftSettings
        ),
        // The store, and the services over a real (in-memory or on-disk) database;
        // `chatd migrate` (ChatDaemon) from one store to the other.
        .testTarget(
            name: "ChatStoreTests",
            dependencies: [
                "ChatStore", "ChatPostgres", "ChatTestSupport", "ChatCore", "ChatCrypto", "ChatWebPush", "ChatDaemon",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatServerTests",
            dependencies: [
                "ChatServer", "ChatCore", "ChatProtocol", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatTerminalTests",
            dependencies: ["ChatTerminal"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatConfigTests",
            dependencies: ["ChatConfig"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatEndToEndTests",
            dependencies: [
                "ChatBuildInfo", "ChatDaemon", "ChatClient", "ChatProtocol", "ChatServer", "ChatCore", "ChatConfig", "ChatCrypto", "ChatStore",
                "ChatPostgres", "ChatTestSupport", "ChatWebPush",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// libFuzzer targets, one per parser that input reaches (DESIGN §6). Only with
// CHATD_FUZZ=1 (tools/fuzz sets it): they link only with
// `--sanitize=fuzzer`, whose runtime provides main(), so a plain
// `swift build` must not see them. Each is one file with
// @_cdecl("LLVMFuzzerTestOneInput") calling into ChatFuzzing.
let fuzzTargets = ["FuzzFrameDecoder", "FuzzClientRouter", "FuzzControlRouter", "FuzzSearchQuery", "FuzzConfig"]
if Context.environment["CHATD_FUZZ"] == "1" {
    package.products += fuzzTargets.map { .executable(name: $0, targets: [$0]) }
    package.targets += fuzzTargets.map {
        .executableTarget(
            name: $0, dependencies: ["ChatFuzzing"], path: "Sources/Fuzz/\($0)",
            swiftSettings: swiftSettings)
    }
}
