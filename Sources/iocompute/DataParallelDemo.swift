import Foundation
import IOCompute

/// The IOTrain part of the demo: the digits MLP trained data-parallel by two ranks of the
/// embedded cluster, checked against one rank on the same global batches.
enum DataParallelDemo {
    /// Trains with 1 and then 2 workers; returns the `data parallel:` line.
    static func run(path: String, seed: UInt64) async throws -> String {
        let table = try CSV.read(contentsOf: path, as: Float.self)
        let (train, test) = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
            .shuffledSplit(trainFraction: 0.8, seed: seed)
        let trainer = DataParallelTrainer<Float>(
            DataParallelRecipe(
                name: "demo-digits",
                makeModel: { Sequential<Float>([try Linear(64, 64, seed: seed), ReLU(), try Linear(64, 10, seed: seed &+ 2)]) },
                makeOptimizer: { Adam($0, learningRate: 0.005) },
                loadData: { TrainingData(train: train, validation: test) }))
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry().dataParallel(trainer))
        let config = DataParallelConfig(epochs: 10, globalBatchSize: 64, shuffleSeed: seed)
        print("IOTrain: the same MLP trained data-parallel on 2 workers of the embedded cluster (global batch 64, ring allreduce)")
        let single = try await trainer.fit(config, workers: 1, on: cluster)
        let start = Date()
        let parallel = try await trainer.fit(config, workers: 2, on: cluster)
        let seconds = Date().timeIntervalSince(start)
        await cluster.shutdown()
        let difference = zip(single.history.losses, parallel.history.losses).map { abs($0 - $1) }.max() ?? 0
        for epoch in 0..<config.epochs {
            let losses = parallel.history.steps.filter { $0.epoch == epoch }.map(\.loss)
            print(String(format: "  epoch %2d  mean loss %.4f (2 workers)", epoch + 1, losses.reduce(0, +) / Double(max(losses.count, 1))))
        }
        return String(
            format:
                "data parallel: %.1f%% held-out accuracy with 2 workers (1 worker: %.1f%%), %d steps, largest loss difference %.1e (%.1f s)",
            (parallel.metrics["validationAccuracy"] ?? 0) * 100, (single.metrics["validationAccuracy"] ?? 0) * 100,
            parallel.history.steps.count, difference, seconds)
    }
}
