// swift-tools-version: 6.1
//
// MetaRec: a cold-start recommender that meta-learns how to learn a new user or item.
// One library product per concern, each depending only on the layers below it:
//
//   MetaRecCore        tensors, higher-order reverse-mode autodiff, kernels, optimizers,
//                      seeded randomness, safetensors checkpoints
//   MetaRecData        readers, schemas, features, synthetic data, the protocol's splits
//   MetaRecModels      the MeLU-style model, parameter partitions, MAML / first-order / Meta-SGD,
//                      the covariance-tracking head, the non-meta baselines
//   MetaRecEvaluation  the protocol's metrics, tables and few-shot curve
//   metarec            the command-line tool
//   metarec-benchmark  release-mode benchmarks that print their figures
import PackageDescription

let package = Package(
    name: "MetaRec",
    products: [
        .library(name: "MetaRecCore", targets: ["MetaRecCore"]),
        .library(name: "MetaRecData", targets: ["MetaRecData"]),
        .library(name: "MetaRecModels", targets: ["MetaRecModels"]),
        .library(name: "MetaRecEvaluation", targets: ["MetaRecEvaluation"]),
        .executable(name: "metarec", targets: ["metarec"]),
        .executable(name: "metarec-benchmark", targets: ["MetaRecBenchmarks"]),
        .executable(name: "metarec-fuzz", targets: ["MetaRecFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .target(
            name: "MetaRecCore",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "MetaRecData",
            dependencies: ["MetaRecCore", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "MetaRecModels", dependencies: ["MetaRecCore", "MetaRecData"]),
        .target(name: "MetaRecEvaluation", dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels"]),
        .executableTarget(
            name: "metarec",
            dependencies: [
                "MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "MetaRecBenchmarks",
            dependencies: ["MetaRecCore", "MetaRecData", "MetaRecModels", "MetaRecEvaluation"]
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
        .testTarget(name: "MetaRecDataTests", dependencies: ["MetaRecData", "MetaRecTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MetaRecModelsTests", dependencies: ["MetaRecModels", "MetaRecData", "MetaRecTestSupport"]),
        .testTarget(
            name: "MetaRecEvaluationTests",
            dependencies: ["MetaRecEvaluation", "MetaRecModels", "MetaRecData", "MetaRecTestSupport"]
        ),
        .testTarget(name: "MetaRecCLITests", dependencies: ["metarec"]),
    ]
)
