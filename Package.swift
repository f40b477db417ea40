// swift-tools-version: 6.1
//
// MetaRec: a cold-start recommender that meta-learns how to learn a new user or item.
// One library product per concern, each depending only on the layers above it
// (Docs/architecture.md has the folders inside each):
//
//   MetaRecCore        tensors, higher-order reverse-mode autodiff, kernels, optimizers,
//                      seeded randomness, safetensors checkpoints, file locks, the JSON format
//   MetaRecData        readers and data-source detection, features, synthetic data, the
//                      protocol's splits
//   MetaRecModels      the MeLU-style network, MAML / first-order / Meta-SGD, the parameter
//                      partition and online stage, the covariance head, meta-embeddings for new
//                      items, baselines, the one training loop and run configuration, the ranker
//   MetaRecEvaluation  the protocol's tables and few-shot curve, the streaming and item
//                      warm-up studies
//   MetaRecStore       the service's store: a small async protocol and its SQLite (GRDB) implementation
//   MetaRecPostgresStore  the same protocol on PostgreSQL (postgres-nio), for several processes sharing one store
//   MetaRecOnline      the online stage run live (`metarec learn`): the store's feedback stream
//                      learned from, candidates checked and published through the store
//   MetaRecServer      the HTTP service (Hummingbird 2): the only library that pulls in NIO
//   metarec            the command-line tool, a thin shell over the library
//   metarec-benchmark  release-mode benchmarks that print their figures
import PackageDescription

let package = Package(
    name: "MetaRec",
    products: [
        .library(name: "MetaRecCore", targets: ["MetaRecCore"]),
        .library(name: "MetaRecData", targets: ["MetaRecData"]),
        .library(name: "MetaRecModels", targets: ["MetaRecModels"]),
        .library(name: "MetaRecEvaluation", targets: ["MetaRecEvaluation"]),
        .library(name: "MetaRecStore", targets: ["MetaRecStore"]),
        .library(name: "MetaRecPostgresStore", targets: ["MetaRecPostgresStore"]),
        .library(name: "MetaRecOnline", targets: ["MetaRecOnline"]),
        .library(name: "MetaRecServer", targets: ["MetaRecServer"]),
        .executable(name: "metarec", targets: ["metarec"]),
        .executable(name: "metarec-benchmark", targets: ["MetaRecBenchmarks"]),
        .executable(name: "metarec-fuzz", targets: ["MetaRecFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "MetaRecCore",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "MetaRecData",
            dependencies: [
                "MetaRecCore", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "MetaRecModels",
            dependencies: ["MetaRecCore", "MetaRecData", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "MetaRecEvaluation", dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels"]),
        // The store behind the service: users, run-time items, the feedback log, adapted state.
        .target(
            name: "MetaRecStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The same store on PostgreSQL, shared by several serving processes; a separate target so
        // that NIO stays out of MetaRecStore.
        .target(
            name: "MetaRecPostgresStore",
            dependencies: [
                "MetaRecStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The online stage beside the service (`metarec learn`): no NIO, no HTTP.
        .target(name: "MetaRecOnline", dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecStore"]),
        // The HTTP service; only the `metarec` executable and the server tests depend on it.
        .target(
            name: "MetaRecServer",
            dependencies: [
                "MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("openapi.yaml"), .embedInCode("Pages/index.html"), .embedInCode("Pages/admin.html"),
                .embedInCode("Pages/pages.css"), .embedInCode("Pages/api.js"), .embedInCode("Pages/onboarding.js"),
                .embedInCode("Pages/admin.js"),
            ]
        ),
        .executableTarget(
            name: "metarec",
            dependencies: [
                "MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecEvaluation", "MetaRecStore", "MetaRecServer",
                "MetaRecPostgresStore", .product(name: "Logging", package: "swift-log"),
                "MetaRecOnline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "MetaRecBenchmarks",
            dependencies: [
                "MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecEvaluation", "MetaRecStore",
                "MetaRecPostgresStore",
            ]
        ),
        // A seeded mutation harness for the readers (Scripts/fuzz.sh runs it).
        .executableTarget(
            name: "MetaRecFuzz",
            dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels"]
        ),
        // Fixtures shared by the test targets: small files on disk, a small synthetic world.
        .target(
            name: "MetaRecTestSupport",
            dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels"],
            path: "Tests/MetaRecTestSupport"
        ),
        .testTarget(name: "MetaRecCoreTests", dependencies: ["MetaRecCore"]),
        // Fixtures/fuzz holds inputs Scripts/fuzz.sh found, read by path in regression tests.
        .testTarget(
            name: "MetaRecDataTests", dependencies: ["MetaRecData", "MetaRecTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MetaRecModelsTests", dependencies: ["MetaRecModels", "MetaRecData", "MetaRecTestSupport"]),
        .testTarget(
            name: "MetaRecEvaluationTests",
            dependencies: ["MetaRecEvaluation", "MetaRecModels", "MetaRecData", "MetaRecTestSupport"]
        ),
        .testTarget(
            name: "MetaRecCLITests", dependencies: ["metarec", "MetaRecCore", "MetaRecModels", "MetaRecStore"]),
        .testTarget(
            name: "MetaRecStoreTests",
            dependencies: ["MetaRecStore", "MetaRecPostgresStore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "MetaRecOnlineTests",
            dependencies: [
                "MetaRecOnline", "MetaRecServer", "MetaRecStore", "MetaRecModels", "MetaRecData", "MetaRecCore",
                "MetaRecTestSupport",
            ]
        ),
        .testTarget(
            name: "MetaRecServerTests",
            dependencies: [
                "MetaRecServer", "MetaRecStore", "MetaRecModels", "MetaRecData", "MetaRecCore", "MetaRecTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
