// Trains the digits MLP on 2 worker processes of this machine, two ways:
//
// - data parallel: each worker holds a replica, takes half of every global batch of 64, and the
//   gradients are summed with a ring allreduce before every (identical) Adam step. Checkpoints go
//   to parallel-training-checkpoints/ (the best 2 by held-out accuracy and the latest are kept);
//   the loss curve to parallel-training-loss.svg.
// - pipeline parallel: the model is cut into 2 stages, one per worker; each batch flows through
//   them as 4 micro-batches (GPipe), activations forward and gradients back.
//
//     swift run -c release ParallelTraining [path/to/digits.csv.gz]
//
// The workers are this program again: `Cluster.start` turns a re-executed copy into a worker
// before the code below it runs, so everything the workers need (the trainer) is built first.
import Foundation
import IOCompute

let path = CommandLine.arguments.dropFirst().first ?? "Examples/Data/digits.csv.gz"

@Sendable func model() throws -> Sequential<Float> {
    Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 3), ReLU(), try Linear(64, 10, seed: 5)])
}

@Sendable func loadDigits() throws -> TrainingData<Float> {
    // Each worker reads the data itself: only gradients (or activations) travel.
    let table = try CSV.read(contentsOf: path, as: Float.self)
    let digits = try LabeledData(table: table, labelColumn: 64, featureScale: 1.0 / 16)
    let (train, test) = try digits.shuffledSplit(trainFraction: 0.8, seed: 2026)
    return TrainingData(train: train, validation: test)
}

let trainer = DataParallelTrainer<Float>(
    DataParallelRecipe(name: "digits-mlp", makeModel: model, makeOptimizer: { Adam($0, learningRate: 0.003) }, loadData: loadDigits))
let pipeline = PipelineTrainer<Float>(
    PipelineRecipe(name: "digits-mlp", makeModel: model, makeOptimizer: { Adam($0, learningRate: 0.003) }, loadData: loadDigits))

let cluster = try await Cluster.start(.localProcesses(workers: 2), registry: Registry().dataParallel(trainer).pipeline(pipeline))
guard FileManager.default.fileExists(atPath: path) else {
    print("no digits data at \(path); run from the repository root or pass the path")
    await cluster.shutdown()
    exit(1)
}

let checkpoints = "parallel-training-checkpoints"
try? FileManager.default.removeItem(atPath: checkpoints)
let config = DataParallelConfig(
    epochs: 20, globalBatchSize: 64, shuffleSeed: 7, checkpointDirectory: checkpoints, keepBest: 2,
    checkpointMetric: "validationAccuracy")
print("data parallel: 2 worker processes, global batch 64 (32 each), ring allreduce of the gradients")
let start = Date()
let result = try await trainer.fit(config, workers: 2, on: cluster)
let seconds = Date().timeIntervalSince(start)
for epoch in 0..<config.epochs {
    let steps = result.history.steps.filter { $0.epoch == epoch }
    let loss = steps.map(\.loss).reduce(0, +) / Double(max(steps.count, 1))
    let rate = steps.map(\.samplesPerSecond).reduce(0, +) / Double(max(steps.count, 1))
    print(String(format: "epoch %2d  mean loss %.4f  %6.0f samples/s", epoch + 1, loss, rate))
}
try result.history.writeLossCurve(to: "parallel-training-loss.svg", title: "digits MLP, 2 data-parallel workers")
print(
    String(
        format: "held-out accuracy %.2f %% after %d steps in %.1f s", (result.metrics["validationAccuracy"] ?? 0) * 100,
        result.history.steps.count, seconds))
if let best = result.bestCheckpoint {
    print(
        String(
            format: "best checkpoint: step %d (%.2f %%) in %@", best.step, (best.metrics["validationAccuracy"] ?? 0) * 100, best.directory))
}
print("loss curve: parallel-training-loss.svg\n")

let pipelineConfig = PipelineConfig(epochs: 20, batchSize: 64, microBatches: 4, shuffleSeed: 7)
print("pipeline parallel: 2 stages on 2 worker processes, batches of 64 as 4 micro-batches (GPipe)")
let pipelineStart = Date()
let piped = try await pipeline.fit(pipelineConfig, stages: 2, on: cluster)
print(
    String(
        format: "held-out accuracy %.2f %% after %d steps in %.1f s; final loss %.4f", (piped.metrics["validationAccuracy"] ?? 0) * 100,
        piped.history.steps.count, Date().timeIntervalSince(pipelineStart), piped.history.losses.last ?? .nan))
await cluster.shutdown()
