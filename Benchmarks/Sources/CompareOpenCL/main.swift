// `compare opencl`: the same tensor workloads on the OpenCL device and on the CPU backend
// (OpenBLAS and the vectorized loops), in one run. `compare-opencl --opencl` and `--cpu` print
// `NAME VALUE UNIT` lines for one side each; the `compare` script joins them, the CPU as the peer.
//
// Device timings wait for the queue to drain after each run (`finish`), so that they count the
// kernels' work, not just their launches; operands stay on the device between runs, as tensors
// of a model do. `--verify` checks every kind of kernel against the CPU instead (see Verify.swift);
// `--large` adds 4096² and 8192² products for GPUs.
import CompareSupport
import Foundation
import IOTensor
import IOTensorOpenCL

/// The median wall time of `body` in seconds, over at least `minimumRuns` runs and about
/// `budget` seconds, after one warm-up run.
func medianSeconds(minimumRuns: Int = 5, budget: Double = 1.5, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    let deadline = Date().addingTimeInterval(budget)
    while times.count < minimumRuns || (Date() < deadline && times.count < 200) {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
}

let onDevice = !CommandLine.arguments.contains("--cpu")

let device: Device = onDevice ? .opencl() : .cpu
let backend: OpenCLBackend?
do {
    backend = onDevice ? try OpenCL.backend(device.index) : nil
} catch {
    FileHandle.standardError.write("compare-opencl: \(error)\n".data(using: .utf8)!)
    exit(2)
}
if let backend {
    let info = backend.context.device
    FileHandle.standardError.write(
        "# OpenCL device \(info.description); driver \(info.driverVersion)\n".data(using: .utf8)!)
} else {
    FileHandle.standardError.write(
        "# CPU: BLAS \(TensorBackend.blasCoreName ?? "?"), \(TensorBackend.threadCount) threads\n".data(using: .utf8)!)
}

if let backend, CommandLine.arguments.contains("--verify") {
    let failures = try verifyKernels(on: device, backend: backend)
    print(failures == 0 ? "verify: every check passed" : "verify: \(failures) checks FAILED")
    exit(failures == 0 ? 0 : 1)
}

/// Runs `body` and waits for the device to finish it.
func timed(_ body: () throws -> Void) throws -> Double {
    try medianSeconds {
        try body()
        try backend?.context.finish()
    }
}

// A GPU gets the larger sizes that fill it; the CPU side measures them too, for the ratio.
let gemmSizes = CommandLine.arguments.contains("--large") ? [256, 1024, 2048, 4096, 8192] : [256, 1024, 2048]
for n in gemmSizes where wanted("gemm_f32_\(n)") {
    let a = try Tensor<Float>.randomNormal([n, n], seed: 1).to(device)
    let b = try Tensor<Float>.randomNormal([n, n], seed: 2).to(device)
    let seconds = try timed { keep(try a.matmul(b)) }
    report("gemm_f32_\(n)", 2 * Double(n * n * n) / seconds / 1e9, "GFLOP/s")
    // On a GPU, each tiling on its own too (the default picks one by size), so that one run
    // tells which suits the card at which size.
    if let backend, backend.context.device.kind != .cpu {
        let chosen = backend.matrixProductKernel
        for (kernel, name) in [(OpenCLBackend.MatrixProductKernel.tiled, "tiles64"), (.tiledWide, "tiles128")] {
            backend.matrixProductKernel = kernel
            let tiled = try timed { keep(try a.matmul(b)) }
            report("gemm_f32_\(n)_\(name)", 2 * Double(n * n * n) / tiled / 1e9, "GFLOP/s")
        }
        backend.matrixProductKernel = chosen
    }
}

if wanted("gemm_f32_1024x256_bias") {
    // A Linear layer's forward pass at batch 1024: [1024, 256]·[256, 256] + bias.
    let x = try Tensor<Float>.randomNormal([1024, 256], seed: 3).to(device)
    let w = try Tensor<Float>.randomNormal([256, 256], seed: 4).to(device)
    let bias = try Tensor<Float>.randomNormal([256], seed: 5).to(device)
    let seconds = try timed { keep(try x.matmul(w, adding: bias)) }
    report("gemm_f32_1024x256_bias", 2 * Double(1024 * 256 * 256) / seconds / 1e9, "GFLOP/s")
}

let elements = 1 << 24
let x = try Tensor<Float>.randomUniform([elements], lowerBound: -1, upperBound: 1, seed: 6).to(device)
let y = try Tensor<Float>.randomUniform([elements], lowerBound: -1, upperBound: 1, seed: 7).to(device)
let bytes = Double(elements * 4)
// Bytes moved: two inputs read and one output written for a binary operation, one of each for a
// unary one, the input alone for a sum.
if wanted("add_f32_16M") { report("add_f32_16M", 3 * bytes / (try timed { keep(try x + y) }) / 1e9, "GB/s") }
if wanted("relu_f32_16M") { report("relu_f32_16M", 2 * bytes / (try timed { keep(x.relu()) }) / 1e9, "GB/s") }
if wanted("exp_f32_16M") { report("exp_f32_16M", 2 * bytes / (try timed { keep(x.exp()) }) / 1e9, "GB/s") }
if wanted("sum_f32_16M") { report("sum_f32_16M", bytes / (try timed { keep(x.sum()) }) / 1e9, "GB/s") }
if wanted("sum_rows_f32_4096x4096") {
    let matrix = try x.reshaped([4096, 4096])
    report("sum_rows_f32_4096x4096", bytes / (try timed { keep(try matrix.sum(alongAxis: 1)) }) / 1e9, "GB/s")
}
if wanted("sum_columns_f32_4096x4096") {
    let matrix = try x.reshaped([4096, 4096])
    report("sum_columns_f32_4096x4096", bytes / (try timed { keep(try matrix.sum(alongAxis: 0)) }) / 1e9, "GB/s")
}
if wanted("softmax_f32_4096x1024") {
    let logits = try Tensor<Float>.randomNormal([4096, 1024], seed: 8).to(device)
    report("softmax_f32_4096x1024", 2 * Double(4096 * 1024 * 4) / (try timed { keep(try logits.softmax()) }) / 1e9, "GB/s")
}
if let backend, backend.fallbackCount > 0 {
    FileHandle.standardError.write(
        "# warning: \(backend.fallbackCount) operations fell back to the CPU: \(backend.lastFallbackReason ?? "")\n".data(using: .utf8)!)
}
