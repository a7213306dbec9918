// `compare-opencl --verify`: every kind of device kernel against the CPU backend on the same
// inputs, with the device's pooled buffers poisoned first, on whatever device the machine has.
// It is the correctness half of a run on a machine with no Swift toolchain (a GPU host gets the
// statically linked build of `Scripts/device-bundle`), where the test suite cannot run.
import Foundation
import IONN
import IOTensor
import IOTensorOpenCL

/// Checks that each operation gives the CPU's result on the device; prints one line per check
/// and returns whether all passed.
struct KernelVerification {
    let device: Device
    let backend: OpenCLBackend
    private(set) var failures = 0

    init(device: Device, backend: OpenCLBackend) {
        self.device = device
        self.backend = backend
    }

    /// `operation` on device copies of `inputs` against the CPU: the largest difference relative
    /// to the CPU result's largest magnitude must stay within `tolerance`.
    mutating func check<Input: TensorScalar, Output: TensorScalar>(
        _ name: String, _ inputs: [Tensor<Input>], tolerance: Double = 1e-5, _ operation: ([Tensor<Input>]) throws -> Tensor<Output>
    ) {
        do {
            let expected = try operation(inputs)
            let onDevice = try inputs.map { try $0.to(device) }
            try backend.context.poisonPool(byte: 0xFF)
            let fallbacks = backend.fallbackCount
            let result = try operation(onDevice)
            let actual = try result.to(.cpu)
            guard actual.shape == expected.shape, result.device == device, backend.fallbackCount == fallbacks else {
                fail(name, "shape \(actual.shape) on \(result.device), expected \(expected.shape); \(backend.lastFallbackReason ?? "")")
                return
            }
            let (a, e) = (Self.doubles(actual.scalars), Self.doubles(expected.scalars))
            let scale = max(1, e.lazy.filter(\.isFinite).map(Swift.abs).max() ?? 1)
            var worst = 0.0
            for (x, y) in zip(a, e) where !(x.isNaN && y.isNaN) && x != y { worst = max(worst, Swift.abs(x - y) / scale) }
            if worst <= tolerance {
                print("verify \(name) ok (largest relative difference \(String(format: "%.2e", worst)))")
            } else {
                fail(name, "largest relative difference \(worst) > \(tolerance)")
            }
        } catch {
            fail(name, "\(error)")
        }
    }

    mutating func fail(_ name: String, _ reason: String) {
        failures += 1
        print("verify \(name) FAILED: \(reason)")
    }

    static func doubles<T>(_ values: [T]) -> [Double] {
        values.map { value in
            switch value {
            case let v as Float: Double(v)
            case let v as Double: v
            case let v as Int: Double(v)
            case let v as Int32: Double(v)
            case let v as Int64: Double(v)
            case let v as Bool: v ? 1 : 0
            case let v as UInt8: Double(v)
            default: .nan
            }
        }
    }
}

/// Runs every check; returns the number that failed.
func verifyKernels(on device: Device, backend: OpenCLBackend) throws -> Int {
    var verification = KernelVerification(device: device, backend: backend)
    for (m, k, n) in [(1, 1, 1), (17, 33, 29), (256, 256, 256), (1031, 257, 511), (2048, 2048, 2048)] {
        let a = try Tensor<Float>.randomNormal([m, k], seed: 1)
        let b = try Tensor<Float>.randomNormal([k, n], seed: 2)
        verification.check("gemm \(m)x\(k)x\(n)", [a, b], tolerance: 1e-5) { try $0[0].matmul($0[1]) }
    }
    // Every kernel, whichever the device picks by default.
    let chosen = backend.matrixProductKernel
    for kernel in [OpenCLBackend.MatrixProductKernel.tiled, .tiledWide, .tiledBySize, .rows] {
        backend.matrixProductKernel = kernel
        let a = try Tensor<Float>.randomNormal([1031, 257], seed: 13)
        let b = try Tensor<Float>.randomNormal([257, 511], seed: 14)
        verification.check("gemm 1031x257x511 with the \(kernel) kernel", [a, b], tolerance: 1e-5) { try $0[0].matmul($0[1]) }
    }
    backend.matrixProductKernel = chosen
    let batched = try Tensor<Float>.randomNormal([3, 65, 47], seed: 3)
    verification.check("batched gemm, transposed operand", [batched]) { try $0[0].matmul($0[0].transposed()) }
    let x = try Tensor<Float>.randomNormal([1031, 257], seed: 4)
    let row = try Tensor<Float>.randomNormal([257], seed: 5)
    verification.check("linear with bias", [x, try Tensor<Float>.randomNormal([257, 129], seed: 6), try row.slice(alongAxis: 0, 0..<129)]) {
        try $0[0].matmul($0[1], adding: $0[2])
    }
    verification.check("broadcast add, exp, relu", [x, row]) { try ($0[0] + $0[1]).exp().relu() }
    verification.check("where and comparison", [x, row]) { try Tensor.where($0[0] .> 0, $0[0], $0[1]) }
    verification.check("sum along rows", [x]) { try $0[0].sum(alongAxis: 1) }
    verification.check("max along columns", [x]) { try $0[0].max(alongAxis: 0) }
    verification.check("argmax along rows", [x]) { try $0[0].argmax(alongAxis: 1) }
    verification.check("sum of 16M", [try Tensor<Float>.randomUniform([1 << 24], lowerBound: 0, upperBound: 1, seed: 7)], tolerance: 1e-4) {
        $0[0].sum()
    }
    verification.check("softmax, long rows", [x]) { try $0[0].softmax() }
    verification.check("log-softmax, short rows", [try Tensor<Float>.randomNormal([1000, 10], seed: 8)]) { try $0[0].logSoftmax() }
    let images = try Tensor<Float>.randomNormal([8, 3, 15, 17], seed: 9)
    let window = try Window2D(images.shape, kernel: (3, 3), stride: 1, padding: 1)
    verification.check("im2col", [images]) { try $0[0].im2col(window) }
    verification.check("col2im", [try Tensor<Float>.randomNormal([8, window.positions, window.patch], seed: 10)]) {
        try $0[0].col2im(window)
    }
    verification.check("max pooling", [images]) { try $0[0].maxPool2d(kernel: (2, 2)).values }
    verification.check("average pooling", [images]) { try $0[0].avgPool2d(kernel: (3, 3), stride: 2, padding: 1) }
    let indices = try Tensor<Int>(shape: [6, 257], scalars: (0..<(6 * 257)).map { ($0 * 31) % 1031 })
    verification.check("gather", [x]) { try $0[0].gathering(indices, alongAxis: 0) }
    verification.check("concatenate", [x, x * 2]) { try Tensor.concatenate($0, alongAxis: 1) }
    let update = ParameterUpdate.adam(beta1: 0.9, beta2: 0.999, stepSize: 1e-3, root2: 0.03, epsilon: 1e-8, decay: 0, decoupledDecay: 1e-4)
    let moments = try Tensor<Float>.randomUniform([100_003], lowerBound: 0.01, upperBound: 1, seed: 11)
    verification.check("Adam update", [try Tensor<Float>.randomNormal([100_003], seed: 12), moments * 0.1, moments * 0.5, moments]) {
        var (parameter, states) = ($0[0], [$0[2], $0[3]])
        try parameter.applyUpdate(update, gradient: $0[1], states: &states)
        return parameter
    }
    try verifyTraining(&verification)
    return verification.failures
}

/// The digits MLP trained on the device for a few epochs reaches the CPU's held-out accuracy.
func verifyTraining(_ verification: inout KernelVerification) throws {
    guard let path = ["Examples/Data/digits.csv.gz", "../Examples/Data/digits.csv.gz"].first(where: FileManager.default.fileExists) else {
        print("verify digits training skipped: Examples/Data/digits.csv.gz not found from \(FileManager.default.currentDirectoryPath)")
        return
    }
    let table = try CSV.read(contentsOf: path, as: Float.self)
    let (train, test) = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16).shuffledSplit(trainFraction: 0.8, seed: 2026)
    func run(on device: Device) throws -> Double {
        let model = Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 10, seed: 3)])
        try model.to(device)
        let optimizer = Adam(model.parameters, learningRate: 0.003)
        for epoch in 0..<8 {
            _ = try Classification.trainEpoch(model, optimizer: optimizer, data: train, batchSize: 32, shuffleSeed: UInt64(epoch))
        }
        return try Classification.accuracy(model, data: test)
    }
    let (cpu, onDevice) = (try run(on: .cpu), try run(on: verification.device))
    let line = "held-out accuracy \(String(format: "%.3f", onDevice)) on the device, \(String(format: "%.3f", cpu)) on the CPU"
    if Swift.abs(cpu - onDevice) <= 0.01 && onDevice > 0.9 {
        print("verify digits training ok (\(line))")
    } else {
        verification.fail("digits training", line)
    }
}
