// swift-tools-version: 6.1
// chatd's micro-benchmarks (ordo-one/benchmark), a package of their own so
// that building chatd never builds them: `tools/microbench` runs them and
// checks their stored thresholds (BENCHMARKS.md, "Micro-benchmarks").
import PackageDescription

let package = Package(
    name: "chatd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "chatd", path: ".."),
        // Without its default "RuntimeInterposer" trait, whose package is not mirrored.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "ChatMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ChatCore", package: "chatd"),
                .product(name: "ChatProtocol", package: "chatd"),
                .product(name: "ChatServer", package: "chatd"),
                .product(name: "ChatFuzzing", package: "chatd"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/ChatMicro",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
