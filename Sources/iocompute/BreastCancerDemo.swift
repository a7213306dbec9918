import Foundation
import IOCompute

/// Three fits of the breast-cancer data set that exercise the tensor layer end to end: CSV
/// loading, broadcasting, reductions, GEMM, a least-squares solve (`?gelsd`), Newton's method for
/// logistic regression (`?getrf`/`?getrs` each step), and a principal-component analysis (`?gesdd`).
struct BreastCancerDemo {
    let path: String
    let seed: UInt64

    func run() throws -> String {
        var lines: [String] = []
        func log(_ line: String) { print(line); fflush(nil) }

        var clock = ContinuousClock.now
        func lap() -> String {
            let now = ContinuousClock.now
            defer { clock = now }
            let elapsed = (now - clock).components
            return String(format: "%.2f ms", Double(elapsed.seconds) * 1e3 + Double(elapsed.attoseconds) / 1e15)
        }

        let table = try CSV.read(contentsOf: path, as: Double.self, headerLines: 1)
        let features = try table.slice(alongAxis: 1, 0..<(table.shape[1] - 1))
        let labels = try table.select(table.shape[1] - 1, alongAxis: 1)
        log("loaded \(table.shape[0]) patients × \(features.shape[1]) features in \(lap())")

        // A seeded 80/20 split: order the rows by Philox uniforms.
        let keys = try Tensor<Double>.randomUniform([table.shape[0]], seed: seed).scalars
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        let trainCount = table.shape[0] * 4 / 5
        let trainRows = Array(order[..<trainCount])
        let testRows = Array(order[trainCount...])
        var trainX = try features.selecting(trainRows)
        var testX = try features.selecting(testRows)
        let trainY = try labels.selecting(trainRows)
        let testY = try labels.selecting(testRows)

        // Standardize with the training set's statistics only.
        let mean = try trainX.mean(alongAxis: 0, keepingDimensions: true)
        let deviation = try trainX.standardDeviation(alongAxis: 0, keepingDimensions: true).maximum(1e-12)
        trainX = try (trainX - mean) / deviation
        testX = try (testX - mean) / deviation
        let ones = try Tensor<Double>.ones([trainX.shape[0], 1])
        let trainDesign = try Tensor.concatenate([trainX, ones], alongAxis: 1)
        let testDesign = try Tensor.concatenate([testX, try Tensor<Double>.ones([testX.shape[0], 1])], alongAxis: 1)
        log("split \(trainRows.count) train / \(testRows.count) test and standardized in \(lap())\n")

        // 1. Least squares on ±1 targets (a linear discriminant), through ?gelsd.
        let signs = trainY * 2 - 1
        let fit = try trainDesign.leastSquares(signs)
        let linearScores = try testDesign.matmul(fit.solution)
        let linearAccuracy = try accuracy(scores: linearScores, threshold: 0, labels: testY)
        log(String(format: "least squares (?gelsd, rank %d):       test accuracy %.1f%%   (%@)", fit.rank, linearAccuracy * 100, lap()))

        // 2. L2-regularized logistic regression by Newton's method: each step solves
        //    (Xᵀ W X + λI) Δ = Xᵀ (p − y) + λ w.
        let lambda = 1e-1
        var weights = try Tensor<Double>.zeros([trainDesign.shape[1]])
        let identity = try Tensor<Double>.eye(trainDesign.shape[1]) * lambda
        for step in 1...8 {
            let p = try trainDesign.matmul(weights).sigmoid()
            let gradient = try trainDesign.transposed().matmul(p - trainY) + weights * lambda
            let curvature = try (p * (1 - p)).unsqueezed(at: 1)
            let hessian = try trainDesign.transposed().matmul(trainDesign * curvature) + identity
            weights = try weights - hessian.solve(gradient)
            let loss = try logisticLoss(design: trainDesign, weights: weights, labels: trainY)
            log(String(format: "  Newton step %d: training log-loss %.5f", step, loss))
        }
        let logisticScores = try testDesign.matmul(weights)
        let logisticAccuracy = try accuracy(scores: logisticScores, threshold: 0, labels: testY)
        log(String(format: "logistic regression (Newton, ?getrs): test accuracy %.1f%%   (%@)", logisticAccuracy * 100, lap()))

        // 3. Principal components of the standardized features, through ?gesdd.
        let (_, singular, _) = try trainX.svd()
        let variance = singular.squared()
        let explained = try variance / variance.sum()
        let top = explained.scalars.prefix(3).map { String(format: "%.1f%%", $0 * 100) }.joined(separator: ", ")
        log("principal components (?gesdd): the first three explain \(top) of the variance   (\(lap()))")

        lines.append(
            String(
                format: "\nsummary: least squares %.1f%%, logistic regression %.1f%% held-out accuracy on %d patients",
                linearAccuracy * 100, logisticAccuracy * 100, testRows.count))
        return lines.joined(separator: "\n")
    }

    private func accuracy(scores: Tensor<Double>, threshold: Double, labels: Tensor<Double>) throws -> Double {
        let predicted = (scores .> threshold).converted(to: Double.self)
        return Double(try (predicted .== labels).trueCount) / Double(labels.count)
    }

    private func logisticLoss(design: Tensor<Double>, weights: Tensor<Double>, labels: Tensor<Double>) throws -> Double {
        // log(1 + e^z) − y·z, with log(1 + e^z) = logsumexp(0, z) for stability.
        let z = try design.matmul(weights)
        let pairs = try Tensor.stack([try Tensor<Double>.zeros(z.shape), z], alongAxis: 1)
        let softplus = try pairs.logSumExp(alongAxis: 1)
        return try (softplus - labels * z).mean().scalar
    }
}
