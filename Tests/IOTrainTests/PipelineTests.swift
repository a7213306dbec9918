import ClusterTestSupport
import IONN
import IORuntime
import IOTensor
import Testing

@testable import IOTrain

/// The pipeline fixture's training done the plain way in one process: the same model, batches
/// and optimizer, one whole batch per step. Returns the losses and the final weights.
func singleWorkerPipelineReference(epochs: Int, batchSize: Int, shuffleSeed: UInt64) throws -> (
    losses: [Double], state: [String: Tensor<Float>]
) {
    let model = try TrainingFixtures.pipelineModel()
    let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
    let data = try TrainingFixtures.digits()
    var losses: [Double] = []
    for epoch in 0..<epochs {
        for batch in try data.train.batches(size: batchSize, shuffleSeed: shuffleSeed &+ UInt64(epoch)) {
            optimizer.zeroGradients()
            let loss = try Loss.crossEntropy(logits: model(Variable(batch.features)), labels: batch.labels)
            try loss.backward()
            try optimizer.step()
            losses.append(loss.value.scalar.doubleValue)
        }
    }
    return (losses, model.stateDictionary())
}

func largestDifference(_ a: [String: Tensor<Float>], _ b: [String: Tensor<Float>]) -> Double {
    a.keys.map { name in
        zip(a[name]!.scalars, b[name]?.scalars ?? []).map { Double(abs($0 - $1)) }.max() ?? .infinity
    }.max() ?? .infinity
}

@Suite("Pipeline-parallel training in process", .timeLimit(.minutes(3)))
struct PipelineTests {
    @Test("two and three stages with micro-batches train like one worker: same losses, same weights", arguments: [(2, 4), (3, 3)])
    func sameAsOneWorker(stages: Int, microBatches: Int) async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 3), registry: ClusterTestFunctions.registry)
        defer { Task { await cluster.shutdown() } }
        let config = PipelineConfig(epochs: 2, batchSize: 64, microBatches: microBatches, shuffleSeed: 9, showsProgress: false)
        let result = try await TrainingFixtures.digitsPipeline.fit(config, stages: stages, on: cluster)
        let reference = try singleWorkerPipelineReference(epochs: 2, batchSize: 64, shuffleSeed: 9)
        #expect(result.history.losses.count == reference.losses.count)
        let worst = zip(result.history.losses, reference.losses).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "largest loss difference \(worst)")
        #expect(Set(result.stateDictionary.keys) == Set(reference.state.keys))
        #expect(largestDifference(result.stateDictionary, reference.state) < 1e-4)
        // Two epochs of this deeper model: far above chance (10 %), and what one worker reaches.
        let trained = try TrainingFixtures.pipelineModel()
        try trained.loadStateDictionary(reference.state)
        let accuracy = try Classification.accuracy(trained, data: try TrainingFixtures.digits().validation!)
        #expect(abs(result.metrics["validationAccuracy"]! - accuracy) <= 1.0 / 359, "\(result.metrics) against \(accuracy)")
        #expect(accuracy > 0.5)
        #expect(result.history.steps.allSatisfy { $0.workers == stages })
    }

    @Test("stages are cut by parameter count or where asked, and impossible cuts fail clearly")
    func stageRanges() throws {
        let model = try TrainingFixtures.pipelineModel()
        let recipe = TrainingFixtures.digitsPipeline.recipe
        // 3,120 / 1,568 / 330 parameters: the first linear layer alone is more than half.
        #expect(try recipe.stageRanges(of: model, stages: 2) == [0..<1, 1..<5])
        #expect(try recipe.stageRanges(of: model, stages: 5) == [0..<1, 1..<2, 2..<3, 3..<4, 4..<5])
        #expect(try recipe.stageRanges(of: model, stages: 1) == [0..<5])
        var explicit = recipe
        explicit.stageStarts = [2]
        #expect(try explicit.stageRanges(of: model, stages: 2) == [0..<2, 2..<5])
        #expect(throws: PipelineError.self) { try recipe.stageRanges(of: model, stages: 6) }
        explicit.stageStarts = [5]
        #expect(throws: PipelineError.self) { try explicit.stageRanges(of: model, stages: 2) }
        explicit.stageStarts = [2, 1]
        #expect(throws: PipelineError.self) { try explicit.stageRanges(of: model, stages: 3) }
    }

    @Test("a configuration that cannot run fails before any stage starts")
    func badConfig() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: ClusterTestFunctions.registry)
        defer { Task { await cluster.shutdown() } }
        let trainer = TrainingFixtures.digitsPipeline
        await #expect(throws: PipelineError.self) {
            try await trainer.fit(PipelineConfig(epochs: 1, batchSize: 4, microBatches: 8), stages: 2, on: cluster)
        }
        await #expect(throws: PipelineError.self) {
            try await trainer.fit(PipelineConfig(epochs: 1, batchSize: 64), stages: 9, on: cluster)
        }
    }
}
