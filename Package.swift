// swift-tools-version: 6.1
import PackageDescription

/// IOCompute: a distributed-compute library for Swift, layered as `../shared/DESIGN.md` describes.
///
/// Layer 0 is the system-library shims, layer 1 the tensor layer, and `IOCompute` the umbrella that
/// user programs import. A lower layer never imports a higher one.
let package = Package(
    name: "IOCompute",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "IOCompute", targets: ["IOCompute"]),
        .library(name: "IOTensor", targets: ["IOTensor"]),
        .library(name: "IONN", targets: ["IONN"]),
        .library(name: "IORuntime", targets: ["IORuntime"]),
        .library(name: "IOTransportTCP", targets: ["IOTransportTCP"]),
        .library(name: "IOTrain", targets: ["IOTrain"]),
        .library(name: "IOTune", targets: ["IOTune"]),
        .library(name: "IOData", targets: ["IOData"]),
        .library(name: "IORL", targets: ["IORL"]),
        .library(name: "IOFederated", targets: ["IOFederated"]),
        .library(name: "IONodes", targets: ["IONodes"]),
        .library(name: "IOTensorOpenCL", targets: ["IOTensorOpenCL"]),
        .executable(name: "iocompute", targets: ["iocompute"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // IOServe: HTTP on Hummingbird 2, metrics in Prometheus's text format.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Only the tests use it: they check the Kubernetes manifests parse.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Layer 0: system libraries from Debian packages.
        .systemLibrary(
            name: "CBLAS", pkgConfig: "blas",
            providers: [.apt(["libblas-dev", "libopenblas0-pthread"])]),
        .systemLibrary(
            name: "CLAPACKE", pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(
            name: "COpenCL", pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-c-headers", "pocl-opencl-icd"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // Layer 1: tensors on BLAS and LAPACK, with a few SIMD loops in C for run-time CPU dispatch.
        .target(name: "CTensorKernels"),
        .target(name: "IOTensor", dependencies: ["CBLAS", "CLAPACKE", "CZlib", "CTensorKernels"]),
        // Tensors on OpenCL devices (PoCL on the CPU in CI, GPU drivers where there are some).
        .target(name: "IOTensorOpenCL", dependencies: ["IOTensor", "COpenCL"]),
        // Layer 2: reverse-mode autograd, layers, losses and optimizers on the tensor layer.
        .target(name: "IONN", dependencies: ["IOTensor"]),

        // Layer 3: the task-graph runtime. It knows nothing of tensors; `IORuntimeTensor` (layer 4
        // bridge) makes them wire-serializable.
        // CRC-32C for object chunks, with the SSE 4.2 instruction where the CPU has it.
        .target(name: "CChecksum"),
        // memfd_create and mremap, for objects shared between processes on one host.
        .target(name: "CSharedMemory"),
        .target(
            name: "IORuntime",
            dependencies: [
                "CChecksum",
                "CSharedMemory",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]),
        .target(name: "IORuntimeTensor", dependencies: ["IORuntime", "IOTensor"]),
        .target(
            name: "IOTransportTCP",
            dependencies: [
                "IORuntime",
                "CSharedMemory",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Machines pooled into one cluster: the head, node agents, and their control messages over
        // mutual TLS. OpenCL only to count a machine's GPUs.
        .target(
            name: "IONodes",
            dependencies: [
                "IORuntime", "IOTransportTCP", "IOTensorOpenCL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // Layer 4: hyperparameter search (search spaces, searchers, schedulers, trials on the cluster).
        .target(name: "IOTune", dependencies: ["IORuntime"]),
        // Layer 4: datasets that stream through the cluster in bounded memory, and batch inference.
        .target(name: "IOData", dependencies: ["IORuntime", "IORuntimeTensor", "IOTensor"]),
        // Layer 4: models served over HTTP by replicas on the cluster, with dynamic batching.
        .target(
            name: "IOServe",
            dependencies: [
                "IORuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Layer 4: RL rollouts (Gymnasium-style environments, env runners as actors, PPO, DQN, IMPALA's V-trace).
        .target(name: "IORL", dependencies: ["IORuntime", "IORuntimeTensor", "IOTensor", "IONN"]),
        // Layer 4: federated learning (strategies, secure aggregation, differential privacy).
        .target(
            name: "IOFederated",
            dependencies: [
                "IORuntime", "IORuntimeTensor", "IOTensor", "IONN", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Layer 4: parallel training (collectives, data and pipeline parallelism, checkpoints).
        .target(
            name: "IOTrain",
            dependencies: [
                "IONN", "IOTensor", "IORuntime", "IORuntimeTensor", "CSharedMemory",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]),

        // Layer 5: the umbrella module and the command line.
        .target(
            name: "IOCompute",
            dependencies: [
                "IOTensor", "IONN", "IORuntime", "IORuntimeTensor", "IOTransportTCP", "IOTrain", "IOTune", "IOData", "IOServe", "IORL",
                "IOFederated", "IOTensorOpenCL", "IONodes",
            ]),
        .executableTarget(
            name: "iocompute",
            dependencies: [
                "IOCompute",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Examples: one runnable program per capability.
        .executableTarget(name: "TensorTour", dependencies: ["IOCompute"], path: "Examples/TensorTour"),
        .executableTarget(name: "MonteCarloPi", dependencies: ["IOCompute"], path: "Examples/MonteCarloPi"),
        .executableTarget(name: "WordCount", dependencies: ["IOCompute"], path: "Examples/WordCount"),
        .executableTarget(name: "DigitsClassifier", dependencies: ["IOCompute"], path: "Examples/DigitsClassifier"),
        .executableTarget(name: "ParallelTraining", dependencies: ["IOCompute"], path: "Examples/ParallelTraining"),
        .executableTarget(name: "DeviceTraining", dependencies: ["IOCompute"], path: "Examples/DeviceTraining"),
        .executableTarget(name: "HyperparameterSearch", dependencies: ["IOCompute"], path: "Examples/HyperparameterSearch"),
        .executableTarget(name: "BatchInference", dependencies: ["IOCompute"], path: "Examples/BatchInference"),
        .executableTarget(name: "ModelServing", dependencies: ["IOCompute"], path: "Examples/ModelServing", exclude: ["README.md"]),
        .executableTarget(name: "CartPole", dependencies: ["IOCompute"], path: "Examples/CartPole"),
        .executableTarget(name: "FederatedHospitals", dependencies: ["IOCompute"], path: "Examples/FederatedHospitals"),

        .testTarget(
            name: "IOTensorTests", dependencies: ["IOTensor"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "iocomputeTests",
            dependencies: ["iocompute", "IONodes", "IOTransportTCP", "ClusterTestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "IOServeTests", dependencies: ["IOServe", "IORuntime"]),
        .testTarget(
            name: "IOFederatedTests", dependencies: ["IOFederated", "IORuntime", "IOTensor", "IONN"], exclude: ["Fixtures"]),
        .testTarget(name: "IORLTests", dependencies: ["IORL", "IORuntime", "IORuntimeTensor", "IOTensor", "IONN"], exclude: ["Fixtures"]),
        .testTarget(name: "IODataTests", dependencies: ["IOData", "IORuntime", "IORuntimeTensor", "IOTensor"]),
        .testTarget(name: "IONodesTests", dependencies: ["IONodes", "IORuntime", "IOTransportTCP"]),
        .testTarget(name: "IOTensorOpenCLTests", dependencies: ["IOTensorOpenCL", "IOTensor", "IONN", "IORL"]),
        .testTarget(name: "IOTrainTests", dependencies: ["IOTrain", "IOTensor", "IONN", "IORuntime", "ClusterTestSupport"]),
        .testTarget(name: "IONNTests", dependencies: ["IONN", "IOTensor"], exclude: ["Fixtures"]),
        .testTarget(name: "IOTuneTests", dependencies: ["IOTune", "IORuntime"]),
        .testTarget(
            name: "IORuntimeTests", dependencies: ["IORuntime", "IORuntimeTensor", "IOTensor"],
            exclude: ["FuzzRegressions"]),
        .testTarget(
            name: "IOTransportTCPTests",
            dependencies: [
                "IOTransportTCP", "IORuntime", "ClusterTestSupport", .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
        // Multi-process clusters: the tests drive clusters whose workers run ClusterTestNode, and
        // both build their registry from ClusterTestSupport.
        .target(
            name: "ClusterTestSupport",
            dependencies: ["IORuntime", "IORuntimeTensor", "IOTensor", "IONN", "IOTrain", "IOTune", "IORL", "IOFederated"],
            path: "Tests/ClusterTestSupport"),
        .executableTarget(
            name: "ClusterTestNode",
            dependencies: ["ClusterTestSupport", "IORuntime", "IOTransportTCP", "IONodes", "IOTune", "IOFederated"],
            path: "Tests/ClusterTestNode"),
        .testTarget(
            name: "IOClusterTests",
            dependencies: [
                "ClusterTestSupport", "ClusterTestNode", "IORuntime", "IOTransportTCP", "IOTensor", "IONN", "IOTrain", "IONodes", "IOTune",
                "IOData", "IOServe", "IORL", "IOFederated",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
