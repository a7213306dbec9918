import ClusterTestSupport
import Foundation
import IONN
import IORuntime
import IOTensor
import Testing

@testable import IOTrain

@Suite("Data-parallel training in process", .timeLimit(.minutes(3)))
struct DataParallelTests {
    func cluster(workers: Int) async throws -> Cluster {
        try await Cluster.start(.inProcess(workers: workers), registry: ClusterTestFunctions.registry)
    }

    func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "iotrain-\(UUID().uuidString)"
    }

    @Test("a training loop's ranks get their rank, the world size and a working group")
    func trainingLoop() async throws {
        let cluster = try await cluster(workers: 3)
        defer { Task { await cluster.shutdown() } }
        let reports = try await TrainingFixtures.averages.run(10, workers: 3, on: cluster)
        #expect(reports == [[0, 3, 10], [1, 3, 10], [2, 3, 10]])
        // More ranks than the cluster can place is refused, not queued forever.
        await #expect(throws: (any Error).self) { try await TrainingFixtures.averages.run(1, workers: 4, on: cluster) }
    }

    @Test("one, two and four workers follow the same loss curve and reach the same accuracy")
    func sameLossCurve() async throws {
        let cluster = try await cluster(workers: 4)
        defer { Task { await cluster.shutdown() } }
        // 1,437 training images in batches of 64: the last batch (29) splits unevenly.
        // Small buckets (2 KiB): the first weight alone, the rest together; summed as they complete.
        let config = DataParallelConfig(epochs: 2, globalBatchSize: 64, shuffleSeed: 5, bucketBytes: 2048, showsProgress: false)
        #expect(
            GradientBuckets(parameters: try TrainingFixtures.digitsTrainer.recipe.makeModel().parameters, bucketBytes: 2048).buckets.count
                == 2)
        var results: [Int: DataParallelResult] = [:]
        for workers in [1, 2, 4] {
            results[workers] = try await TrainingFixtures.digitsTrainer.fit(config, workers: workers, on: cluster)
        }
        // Summing each bucket after the whole backward pass instead of during it changes nothing.
        var sequential = config
        sequential.overlapsCommunication = false
        let afterBackward = try await TrainingFixtures.digitsTrainer.fit(sequential, workers: 2, on: cluster)
        #expect(afterBackward.history.losses == results[2]!.history.losses)
        let single = results[1]!.history.losses
        #expect(single.count == 46)
        #expect(single.last! < single.first! / 3)
        for workers in [2, 4] {
            let result = results[workers]!
            #expect(result.history.steps.allSatisfy { $0.workers == workers })
            let losses = result.history.losses
            #expect(losses.count == single.count)
            let worst = zip(losses, single).map { abs($0 - $1) / max(abs($1), 1e-3) }.max()!
            #expect(worst < 1e-3, "\(workers) workers: largest relative loss difference \(worst)")
            #expect(abs(result.metrics["validationAccuracy"]! - results[1]!.metrics["validationAccuracy"]!) <= 1.0 / 360)
        }
        #expect(results[1]!.metrics["validationAccuracy"]! > 0.85)
    }

    @Test("checkpoints keep the latest and the best, and a resumed run continues the same curve")
    func checkpointsAndResume() async throws {
        let cluster = try await cluster(workers: 2)
        defer { Task { await cluster.shutdown() } }
        let trainer = TrainingFixtures.digitsTrainer
        let whole = temporaryDirectory()
        let parts = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: whole)
            try? FileManager.default.removeItem(atPath: parts)
        }
        var config = DataParallelConfig(
            epochs: 2, globalBatchSize: 64, shuffleSeed: 5, checkpointDirectory: whole, checkpointEvery: 10, keepBest: 1,
            showsProgress: false)
        let uninterrupted = try await trainer.fit(config, workers: 2, on: cluster)
        let store = config.checkpointStore!
        let kept = try store.checkpoints()
        // Checkpoints at 10, 20, 30, 40 and 46: the latest and the best one remain.
        #expect(kept.last?.step == 46)
        #expect(kept.count <= 2)
        let best = try #require(try store.best())
        #expect(uninterrupted.bestCheckpoint == best)
        #expect(kept.allSatisfy { $0.metrics["validationAccuracy"]! <= best.metrics["validationAccuracy"]! })
        let reloaded = try TrainingFixtures.digitsTrainer.recipe.makeModel()
        try reloaded.load(from: kept.last!.modelPath)

        // The same run cut at step 20 (as a lost worker would cut it) and resumed.
        config.checkpointDirectory = parts
        var first = config
        first.stopsAtStep = 20
        let cut = try await trainer.loop.run(first, workers: 2, on: cluster)
        #expect(cut[0].completedSteps == 20)
        config.resume = true
        let resumed = try await trainer.fit(config, workers: 2, on: cluster)
        #expect(resumed.history.steps.map(\.step) == Array(1...46))
        let worst = zip(resumed.history.losses, uninterrupted.history.losses).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
        #expect(resumed.metrics["validationAccuracy"] == uninterrupted.metrics["validationAccuracy"])
    }

    @Test("bad settings and a corrupt checkpoint fail with clear errors")
    func errors() async throws {
        let cluster = try await cluster(workers: 1)
        defer { Task { await cluster.shutdown() } }
        let trainer = TrainingFixtures.digitsTrainer
        await #expect(throws: DataParallelError.self) {
            try await trainer.fit(DataParallelConfig(epochs: 0, globalBatchSize: 64), workers: 1, on: cluster)
        }
        await #expect(throws: DataParallelError.self) {
            try await trainer.fit(DataParallelConfig(epochs: 1, globalBatchSize: 64), workers: 2, on: cluster, minimumWorkers: 2)
        }
        // A checkpoint whose model file is damaged: every attempt fails, and the run says why.
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = DataParallelConfig(epochs: 1, globalBatchSize: 256, checkpointDirectory: directory, showsProgress: false)
        _ = try await trainer.fit(config, workers: 1, on: cluster)
        let latest = try #require(try config.checkpointStore!.latest())
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: latest.modelPath))
        config.resume = true
        await #expect(throws: DataParallelError.self) { try await trainer.fit(config, workers: 1, on: cluster, maxRestarts: 1) }
    }

    @Test("the loss curve plot is an SVG with one point per step")
    func lossCurve() throws {
        let steps = (1...30).map {
            TrainingStep(step: $0, epoch: ($0 - 1) / 10, loss: 2 / Double($0), samplesPerSecond: 100, workers: $0 < 20 ? 2 : 1)
        }
        let svg = TrainingHistory(steps: steps).lossCurveSVG(title: "a <test>")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("a &lt;test&gt;"))
        let points = svg.split(separator: "points=\"")[1].split(separator: "\"")[0].split(separator: " ")
        #expect(points.count == 30)
        #expect(svg.contains("2 workers") && svg.contains("1 workers"))
    }
}
