import ClusterTestSupport
import Foundation
import IONN
import IORuntime
import IOTrain
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A data-parallel run of the digits trainer on 2 worker processes whose worker 1 is killed
/// (SIGKILL) once the run has written its first checkpoint.
struct KilledRun {
    let cluster: Cluster
    let directory: String
    let store: CheckpointStore
    let training: Task<DataParallelResult, any Error>

    /// Starts the run: 45 steps per epoch (1,437 images in batches of 32), a checkpoint every
    /// `checkpointEvery` steps.
    static func start(_ name: String, epochs: Int, checkpointEvery: Int) async throws -> KilledRun {
        let cluster = try await ClusterProcess.start(workers: 2)
        let directory = NSTemporaryDirectory() + "iotrain-\(name)-\(UUID().uuidString)"
        let config = DataParallelConfig(
            epochs: epochs, globalBatchSize: 32, shuffleSeed: 3, checkpointDirectory: directory, checkpointEvery: checkpointEvery,
            showsProgress: false)
        let victim = try await cluster.get(
            try await cluster.submit(ClusterTestFunctions.processID, 0, options: TaskOptions(placement: .worker(1, strict: true))))
        let training = Task { try await TrainingFixtures.digitsTrainer.fit(config, workers: 2, on: cluster) }
        let store = CheckpointStore(directory: directory)
        // Watched from a thread of its own: the cooperative pool of a loaded test process can
        // wake seconds late, long enough for the whole run to end before the kill.
        await onOwnThread {
            let watched = CheckpointStore(directory: directory)
            while (try? watched.latest()) == nil { usleep(2_000) }
            kill(pid_t(victim), SIGKILL)
        }
        return KilledRun(cluster: cluster, directory: directory, store: store, training: training)
    }

    /// Shuts the cluster down and removes the checkpoints.
    func cleanUp() {
        try? FileManager.default.removeItem(atPath: directory)
        let cluster = cluster
        Task { await cluster.shutdown() }
    }
}

@Suite("Data-parallel training across worker processes", .timeLimit(.minutes(5)))
struct DataParallelProcessTests {
    @Test("a worker killed mid-training: the run restarts from its last checkpoint on the survivor and reaches the expected accuracy")
    func workerKilled() async throws {
        // 270 steps in all.
        let run = try await KilledRun.start("killed", epochs: 6, checkpointEvery: 20)
        defer { run.cleanUp() }
        let result = try await run.training.value

        #expect(result.restarts.count == 1)
        #expect(result.restarts.first.map { $0.contains("lost") } == true, "\(result.restarts)")
        // Every step is in the history exactly once: the steps after the checkpoint that the
        // failed attempt took were dropped, and the survivor took them again alone.
        let steps = result.history.steps
        #expect(steps.map(\.step) == Array(1...270))
        #expect(steps.first?.workers == 2)
        #expect(steps.last?.workers == 1)
        #expect(result.metrics["validationAccuracy"]! > 0.9, "\(result.metrics)")
        #expect(try run.store.latest()?.step == 270)
    }

    @Test("after a worker is lost the run shrinks to the survivor, and grows back once the worker is replaced")
    func shrinksAndGrowsBack() async throws {
        // 450 steps in all, a checkpoint every 15.
        let run = try await KilledRun.start("elastic", epochs: 10, checkpointEvery: 15)
        defer { run.cleanUp() }
        // Once a checkpoint shows steps taken by the survivor alone, bring the worker back.
        let store = run.store
        let shrank = await ClusterProcess.eventually {
            guard let latest = try? store.latest(), let history = try? store.history(of: latest) else { return false }
            return history.steps.contains { $0.workers == 1 }
        }
        #expect(shrank)
        #expect(try await run.cluster.replaceLostWorkers() == [1])
        let result = try await run.training.value

        let steps = result.history.steps
        #expect(steps.map(\.step) == Array(1...450))
        let sizes = steps.map(\.workers)
        #expect(sizes.first == 2 && sizes.contains(1) && sizes.last == 2, "workers per step: \(sizes)")
        // Runs restart from checkpoints and shrunk runs stop at them: sizes change only after one.
        for index in steps.indices.dropFirst() where sizes[index] != sizes[index - 1] {
            #expect(steps[index - 1].step % 15 == 0, "size changed after step \(steps[index - 1].step)")
        }
        #expect(result.restarts.count == 1)
        #expect(result.metrics["validationAccuracy"]! > 0.9, "\(result.metrics)")
    }
}

@Suite("Pipeline-parallel training across worker processes", .timeLimit(.minutes(5)))
struct PipelineProcessTests {
    @Test("two stages in two processes train like one worker: activations forward and gradients back over TCP")
    func twoProcesses() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        defer { Task { await cluster.shutdown() } }
        let config = PipelineConfig(epochs: 1, batchSize: 64, microBatches: 4, shuffleSeed: 9, showsProgress: false)
        let result = try await TrainingFixtures.digitsPipeline.fit(config, stages: 2, on: cluster)

        // The same training in this process, the plain way.
        let model = try TrainingFixtures.pipelineModel()
        let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        var losses: [Double] = []
        for batch in try TrainingFixtures.digits().train.batches(size: 64, shuffleSeed: 9) {
            optimizer.zeroGradients()
            let loss = try Loss.crossEntropy(logits: model(Variable(batch.features)), labels: batch.labels)
            try loss.backward()
            try optimizer.step()
            losses.append(loss.value.scalar.doubleValue)
        }
        let worst = zip(result.history.losses, losses).map { abs($0 - $1) }.max() ?? .infinity
        #expect(result.history.losses.count == losses.count)
        #expect(worst < 1e-4, "largest loss difference \(worst)")
        let expected = model.stateDictionary()
        #expect(Set(result.stateDictionary.keys) == Set(expected.keys))
        for (name, tensor) in expected {
            let difference = zip(tensor.scalars, result.stateDictionary[name]?.scalars ?? []).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference < 1e-4, "\(name): \(difference)")
        }
    }
}
