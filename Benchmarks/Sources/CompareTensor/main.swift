// The IOTensor half of `compare tensor`: runs each workload and prints `NAME VALUE UNIT`, where
// VALUE is a throughput (higher is better). `Peers/tensor_numpy.py` runs the same workloads
// in NumPy and prints the same lines; the `compare` script joins them.
import Foundation
import IOTensor

/// The median wall time of `body` in seconds, over at least `minimumRuns` runs and about
/// `budget` seconds, after one warm-up run.
func medianSeconds(minimumRuns: Int = 5, budget: Double = 1.0, _ body: () throws -> Void) rethrows -> Double {
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

func report(_ name: String, _ value: Double, _ unit: String) {
    print("\(name) \(String(format: "%.4g", value)) \(unit)")
    fflush(nil)
}

@inline(never) func keep<T>(_ value: T) { withExtendedLifetime(value) {} }

let selected = Set(CommandLine.arguments.dropFirst())
func wanted(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

for n in [256, 1024, 2048] where wanted("matmul_f32_\(n)") {
    let a = try Tensor<Float>.randomNormal([n, n], seed: 1)
    let b = try Tensor<Float>.randomNormal([n, n], seed: 2)
    let seconds = try medianSeconds { keep(try a.matmul(b)) }
    report("matmul_f32_\(n)", 2 * Double(n * n * n) / seconds / 1e9, "GFLOP/s")
}

let elements = 10_000_000
let x = try Tensor<Float>.randomUniform([elements], lowerBound: -1, upperBound: 1, seed: 3)
let y = try Tensor<Float>.randomUniform([elements], lowerBound: -1, upperBound: 1, seed: 4)
if wanted("add_f32_10M") { report("add_f32_10M", Double(elements) / (try medianSeconds { keep(try x + y) }) / 1e9, "Gelem/s") }
if wanted("mul_f32_10M") { report("mul_f32_10M", Double(elements) / (try medianSeconds { keep(try x * y) }) / 1e9, "Gelem/s") }
if wanted("exp_f32_10M") { report("exp_f32_10M", Double(elements) / medianSeconds { keep(x.exp()) } / 1e9, "Gelem/s") }
if wanted("sum_f32_10M") { report("sum_f32_10M", Double(elements) / medianSeconds { keep(x.sum()) } / 1e9, "Gelem/s") }
if wanted("from_array_f32_10M") {
    // A tensor made from an array of scalars (NumPy: an array copied from another).
    let scalars = x.scalars
    report("from_array_f32_10M", Double(elements) / medianSeconds { keep(Tensor<Float>(scalars)) } / 1e9, "Gelem/s")
}
if wanted("full_f32_10M") {
    // A new tensor of one value (NumPy's `np.full`): memory a tensor's buffer cache may reuse.
    report(
        "full_f32_10M", Double(elements) / (try medianSeconds { keep(try Tensor<Float>(repeating: 1.5, shape: [elements])) }) / 1e9,
        "Gelem/s")
}

if wanted("add_f32_64") {
    // Per-operation overhead: tiny tensors, where bookkeeping rather than arithmetic dominates.
    let a = try Tensor<Float>.randomUniform([64], seed: 10)
    let b = try Tensor<Float>.randomUniform([64], seed: 11)
    let seconds = try medianSeconds {
        for _ in 0..<1000 { keep(try a + b) }
    }
    report("add_f32_64", 1000 / seconds / 1e6, "Mops/s")
}

if wanted("softmax_f32_4096x1024") {
    let logits = try Tensor<Float>.randomNormal([4096, 1024], seed: 5)
    report("softmax_f32_4096x1024", Double(4096 * 1024) / (try medianSeconds { keep(try logits.softmax(alongAxis: -1)) }) / 1e9, "Gelem/s")
}

if wanted("solve_f64_1000") {
    let a = try Tensor<Double>.randomNormal([1000, 1000], seed: 6)
    let b = try Tensor<Double>.randomNormal([1000], seed: 7)
    report("solve_f64_1000", 1 / (try medianSeconds { keep(try a.solve(b)) }), "solves/s")
}

if wanted("svd_f32_512") {
    let a = try Tensor<Float>.randomNormal([512, 512], seed: 8)
    report("svd_f32_512", 1 / (try medianSeconds { keep(try a.svd()) }), "svds/s")
}
