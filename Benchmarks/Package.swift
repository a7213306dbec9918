// swift-tools-version: 6.1
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// IOCompute's benchmarks, kept in their own package so that library users never build them.
///
/// - `swift package benchmark` runs the ordo-one/benchmark suites under `Benchmarks/`.
/// - `./compare tensor` runs the side-by-side comparisons against NumPy (see `compare`).
let package = Package(
    name: "IOComputeBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TensorBenchmarks",
            dependencies: [
                .product(name: "IOTensor", package: rootPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TensorBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "RuntimeBenchmarks",
            dependencies: [
                .product(name: "IOCompute", package: rootPackage),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RuntimeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .target(name: "CompareSupport"),
        .executableTarget(
            name: "compare-runtime",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareRuntime"),
        .executableTarget(
            name: "compare-cluster",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareCluster"),
        .executableTarget(
            name: "compare-nn",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareNN"),
        .executableTarget(
            name: "compare-tune",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareTune"),
        .executableTarget(
            name: "compare-data",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareData"),
        .executableTarget(
            name: "compare-rl",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareRL"),
        .executableTarget(
            name: "compare-federated",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareFederated"),
        .executableTarget(
            name: "compare-serve",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareServe"),
        .executableTarget(
            name: "compare-train",
            dependencies: ["CompareSupport", .product(name: "IOCompute", package: rootPackage)],
            path: "Sources/CompareTrain"),
        .executableTarget(
            name: "compare-opencl",
            dependencies: [
                "CompareSupport", .product(name: "IOTensorOpenCL", package: rootPackage), .product(name: "IOTensor", package: rootPackage),
                .product(name: "IONN", package: rootPackage),
            ],
            path: "Sources/CompareOpenCL"),
        .executableTarget(
            name: "compare-tensor",
            dependencies: [.product(name: "IOTensor", package: rootPackage)],
            path: "Sources/CompareTensor"),
    ],
    swiftLanguageModes: [.v6]
)
