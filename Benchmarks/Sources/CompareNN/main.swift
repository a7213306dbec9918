// The IONN half of `compare nn`: one training step (forward, cross-entropy, backward, SGD with
// momentum) of the same models, shapes and batch sizes as `Peers/nn_torch.py` runs in PyTorch on
// the CPU, printed as `NAME VALUE samples/s`. The growth of the process's peak resident memory
// over each workload goes to standard error.
import CompareSupport
import Foundation
import IOCompute

/// Runs `steps` training steps of `model` on one random batch and reports samples per second.
func measure(_ name: String, _ model: Sequential<Float>, inputShape: [Int], batch: Int, steps: Int) throws {
    guard wanted(name) else { return }
    let before = peakResidentKiB()
    let inputs = try Tensor<Float>.randomNormal([batch] + inputShape, seed: 1)
    let labels = (0..<batch).map { ($0 * 7) % 10 }
    let optimizer = SGD(model.parameters, learningRate: 0.01, momentum: 0.9)
    func step() throws {
        optimizer.zeroGradients()
        try Loss.crossEntropy(logits: model(Variable(inputs)), labels: labels).backward()
        try optimizer.step()
    }
    for _ in 0..<3 { try step() }  // Warm-up.
    var best = Double.infinity
    for _ in 0..<3 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { try step() }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    report(name, Double(batch * steps) / best, "samples/s")
    let growth = Double(peakResidentKiB() - before) / 1024
    FileHandle.standardError.write("# IONN \(name): peak resident memory grew \(String(format: "%.1f", growth)) MiB\n".data(using: .utf8)!)
}

/// The process's peak resident set so far, in KiB.
func peakResidentKiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss
}

func mlp() throws -> Sequential<Float> {
    Sequential([try Linear(64, 256, seed: 1), ReLU(), try Linear(256, 256, seed: 3), ReLU(), try Linear(256, 10, seed: 5)])
}

func cnn() throws -> Sequential<Float> {
    Sequential([
        try Conv2d(1, 16, kernel: (3, 3), padding: 1, seed: 11), ReLU(), MaxPool2d(kernel: (2, 2)),
        try Conv2d(16, 32, kernel: (3, 3), padding: 1, seed: 13), ReLU(), MaxPool2d(kernel: (2, 2)),
        Flatten(), try Linear(128, 64, seed: 15), ReLU(), try Linear(64, 10, seed: 17),
    ])
}

FileHandle.standardError.write(
    "# IONN: BLAS \(TensorBackend.blasCoreName ?? "?"), \(TensorBackend.threadCount) threads\n".data(using: .utf8)!)
try measure("mlp_batch64", try mlp(), inputShape: [64], batch: 64, steps: 200)
try measure("cnn_batch64", try cnn(), inputShape: [1, 8, 8], batch: 64, steps: 50)
try measure("mlp_batch1024", try mlp(), inputShape: [64], batch: 1024, steps: 30)
