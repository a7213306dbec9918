import Foundation
import IOCompute

/// Three fits of the breast-cancer data set that exercise the tensor layer end to end: CSV
/// loading, broadcasting, reductions, GEMM, a least-squares solve (`?gelsd`), Newton's method for
/// logistic regression (`?getrf`/`?getrs` each step), and a principal-component analysis (`?gesdd`).
struct BreastCancerDemo {
    let path: String
    let seed: UInt64

    func run() throws -> String {
        func log(_ line: String) { print(line); fflush(nil) }

        var clock = ContinuousClock.now
        func lap() -> String {
            let now = ContinuousClock.now
            defer { clock = now }
            let elapsed = (now - clock).components
            return String(format: "%.2f ms", Double(elapsed.seconds) * 1e3 + Double(elapsed.attoseconds) / 1e15)
        }

        let data = try Self.prepare(path: path, seed: seed)
        let (trainX, trainDesign, trainY, testDesign, testY) = (data.trainX, data.trainDesign, data.trainY, data.testDesign, data.testY)
        log(
            "loaded \(data.rows) patients × \(trainX.shape[1]) features, split \(trainY.count) train / \(testY.count) test and standardized in \(lap())\n"
        )

        // 1. Least squares on ±1 targets (a linear discriminant), through ?gelsd.
        let signs = trainY * 2 - 1
        let fit = try trainDesign.leastSquares(signs)
        let linearAccuracy = try Self.accuracy(design: testDesign, weights: fit.solution, labels: testY)
        log(String(format: "least squares (?gelsd, rank %d):       test accuracy %.1f%%   (%@)", fit.rank, linearAccuracy * 100, lap()))

        // 2. L2-regularized logistic regression by Newton's method: each step solves
        //    (Xᵀ W X + λI) Δ = Xᵀ (p − y) + λ w.
        let weights = try Self.fitLogistic(design: trainDesign, labels: trainY) { step, weights in
            let loss = try logisticLoss(design: trainDesign, weights: weights, labels: trainY)
            log(String(format: "  Newton step %d: training log-loss %.5f", step, loss))
        }
        let logisticAccuracy = try Self.accuracy(design: testDesign, weights: weights, labels: testY)
        log(String(format: "logistic regression (Newton, ?getrs): test accuracy %.1f%%   (%@)", logisticAccuracy * 100, lap()))

        // 3. Principal components of the standardized features, through ?gesdd.
        let (_, singular, _) = try trainX.svd()
        let variance = singular.squared()
        let explained = try variance / variance.sum()
        let top = explained.scalars.prefix(3).map { String(format: "%.1f%%", $0 * 100) }.joined(separator: ", ")
        log("principal components (?gesdd): the first three explain \(top) of the variance   (\(lap()))")

        return String(
            format: "summary: least squares %.1f%%, logistic regression %.1f%% held-out accuracy on %d patients",
            linearAccuracy * 100, logisticAccuracy * 100, testY.count)
    }

    /// The data set split (80/20 by a seeded shuffle), standardized with the training statistics,
    /// with a column of ones appended for the intercept.
    struct Prepared {
        let rows: Int
        let trainX: Tensor<Double>
        let trainDesign: Tensor<Double>
        let trainY: Tensor<Double>
        let testDesign: Tensor<Double>
        let testY: Tensor<Double>
    }

    static func prepare(path: String, seed: UInt64) throws -> Prepared {
        let table = try CSV.read(contentsOf: path, as: Double.self, headerLines: 1)
        let features = try table.slice(alongAxis: 1, 0..<(table.shape[1] - 1))
        let labels = try table.select(table.shape[1] - 1, alongAxis: 1)
        let keys = try Tensor<Double>.randomUniform([table.shape[0]], seed: seed).scalars
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        let trainCount = table.shape[0] * 4 / 5
        let trainRows = Array(order[..<trainCount])
        let testRows = Array(order[trainCount...])
        var trainX = try features.selecting(trainRows)
        var testX = try features.selecting(testRows)
        let mean = try trainX.mean(alongAxis: 0, keepingDimensions: true)
        let deviation = try trainX.standardDeviation(alongAxis: 0, keepingDimensions: true).maximum(1e-12)
        trainX = try (trainX - mean) / deviation
        testX = try (testX - mean) / deviation
        return Prepared(
            rows: table.shape[0], trainX: trainX,
            trainDesign: try Tensor.concatenate([trainX, try Tensor<Double>.ones([trainX.shape[0], 1])], alongAxis: 1),
            trainY: try labels.selecting(trainRows),
            testDesign: try Tensor.concatenate([testX, try Tensor<Double>.ones([testX.shape[0], 1])], alongAxis: 1),
            testY: try labels.selecting(testRows))
    }

    /// L2-regularized logistic regression by Newton's method; `observe` sees each step's weights.
    static func fitLogistic(
        design: Tensor<Double>, labels: Tensor<Double>, lambda: Double = 1e-1, steps: Int = 8,
        observe: (Int, Tensor<Double>) throws -> Void = { _, _ in }
    ) throws -> Tensor<Double> {
        var weights = try Tensor<Double>.zeros([design.shape[1]])
        let identity = try Tensor<Double>.eye(design.shape[1]) * lambda
        for step in 1...steps {
            let p = try design.matmul(weights).sigmoid()
            let gradient = try design.transposed().matmul(p - labels) + weights * lambda
            let curvature = try (p * (1 - p)).unsqueezed(at: 1)
            let hessian = try design.transposed().matmul(design * curvature) + identity
            weights = try weights - hessian.solve(gradient)
            try observe(step, weights)
        }
        return weights
    }

    static func accuracy(design: Tensor<Double>, weights: Tensor<Double>, labels: Tensor<Double>) throws -> Double {
        let predicted = (try design.matmul(weights) .> 0).converted(to: Double.self)
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
