import ArgumentParser
import Foundation
import IOCompute

/// The demo's second part: the same data set on the embedded cluster. Bootstrap resamples of the
/// logistic regression run as parallel tasks over tensors put in the object store once (shared,
/// not copied), a reduce task summarizes them, Monte Carlo π fans 32 tasks into one, and a burst
/// of small tasks shows the runtime's per-task cost.
enum TaskGraphDemo {
    /// Fits the logistic regression on a bootstrap resample of the training rows and returns its
    /// held-out accuracy.
    static let bootstrapFit = RemoteFunction("bootstrapFit") {
        (design: Tensor<Double>, labels: Tensor<Double>, testDesign: Tensor<Double>, testLabels: Tensor<Double>, seed: UInt64)
            async throws -> Double in
        let rows = design.shape[0]
        let draws = try Tensor<Double>.randomUniform([rows], seed: seed).scalars.map { min(Int($0 * Double(rows)), rows - 1) }
        let weights = try BreastCancerDemo.fitLogistic(design: design.selecting(draws), labels: labels.selecting(draws))
        return try BreastCancerDemo.accuracy(design: testDesign, weights: weights, labels: testLabels)
    }

    /// Mean and standard deviation of the accuracies.
    static let summarize = RemoteFunction("summarize") { (accuracies: [Double]) async throws -> [Double] in
        let mean = accuracies.reduce(0, +) / Double(accuracies.count)
        let variance = accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(accuracies.count - 1, 1))
        return [mean, variance.squareRoot()]
    }

    /// Points inside the unit quarter circle out of `samples`.
    static let countInside = RemoteFunction("countInside") { (seed: UInt64, samples: Int) async throws -> Int in
        let x = try Tensor<Double>.randomUniform([samples], seed: seed)
        let y = try Tensor<Double>.randomUniform([samples], seed: seed | (1 << 63))
        return try (x * x + y * y .<= 1).trueCount
    }

    static let total = RemoteFunction("total") { (counts: [Int]) async throws -> Int in counts.reduce(0, +) }
    static let noop = RemoteFunction("noop") { (x: Int) async throws -> Int in x }

    static var registry: Registry {
        // Registering `bootstrapFit` first crashes a debug build of this executable inside
        // `Registry.function` (Swift 6.3.1; release builds and the same code in a test target are
        // fine): a toolchain problem under investigation, avoided by this order.
        Registry().function(noop).function(total).function(countInside).function(summarize).function(bootstrapFit)
    }

    static func run(path: String, seed: UInt64) async throws -> String {
        let workers = ProcessInfo.processInfo.activeProcessorCount
        let cluster = try await Cluster.start(.inProcess(workers: workers), registry: registry)
        let data = try BreastCancerDemo.prepare(path: path, seed: seed)
        print("task graph on the embedded cluster (\(workers) in-process workers)")

        var clock = ContinuousClock.now
        func lap() -> String {
            let now = ContinuousClock.now
            defer { clock = now }
            return "\((now - clock).formatted(.units(allowed: [.milliseconds], fractionalPart: .show(length: 1))))"
        }

        // The tensors go into the object store once; every task depends on the same objects.
        let design = try await cluster.put(data.trainDesign)
        let labels = try await cluster.put(data.trainY)
        let testDesign = try await cluster.put(data.testDesign)
        let testLabels = try await cluster.put(data.testY)
        var fits: [ObjectRef<Double>] = []
        for resample in 0..<32 {
            fits.append(try await cluster.submit(bootstrapFit, design, labels, testDesign, testLabels, UInt64(1000 + resample)))
        }
        let summary = try await cluster.submit(summarize, fits.gathered()).get()
        print(
            String(
                format: "  32 bootstrap fits → 1 summary: held-out accuracy %.1f%% ± %.1f%%   (%@)", summary[0] * 100, summary[1] * 100,
                lap()))

        var counts: [ObjectRef<Int>] = []
        for task in 0..<32 { counts.append(try await cluster.submit(countInside, UInt64(task), 250_000)) }
        let inside = try await cluster.submit(total, counts.gathered()).get()
        let pi = 4 * Double(inside) / Double(32 * 250_000)
        print(String(format: "  Monte Carlo: 32 tasks of 250k points → π ≈ %.5f   (%@)", pi, lap()))

        let burst = 20_000
        let started = ContinuousClock.now
        var refs: [ObjectRef<Int>] = []
        refs.reserveCapacity(burst)
        for value in 0..<burst { refs.append(try await cluster.submit(noop, value)) }
        let echoed = try await cluster.get(refs)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        guard echoed == Array(0..<burst) else { throw ValidationError("the burst of tasks returned wrong values") }
        print(String(format: "  %d tiny tasks submitted then collected: %.0f tasks/s", burst, Double(burst) / seconds))

        let status = await cluster.status()
        await cluster.shutdown()
        return "task graph: \(status.tasks.finished) tasks finished, \(status.tasks.failed) failed; "
            + String(format: "bootstrap accuracy %.1f%%, π ≈ %.4f", summary[0] * 100, pi)
    }
}
