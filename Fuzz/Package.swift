// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// The libFuzzer target for everything that reads untrusted bytes: frames, runtime messages,
/// wire-serialized values, tensors, object chunks, collective messages, and the TCP handshake. A package of its own because it is built with
/// `-sanitize=fuzzer,address` (see `Scripts/fuzz`), which the main build must not be.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "IOComputeFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../")],
    targets: [
        .executableTarget(
            name: "FuzzWire",
            dependencies: [
                .product(name: "IORuntime", package: rootPackage),
                .product(name: "IOTransportTCP", package: rootPackage),
                .product(name: "IOTrain", package: rootPackage),
            ])
    ],
    swiftLanguageModes: [.v6]
)
