import CompareSupport
// The IOCompute half of `compare train`: collective bandwidth between local worker processes
// (this program re-executed), and data-parallel training steps of two MLPs on 2 worker
// processes (one BLAS thread each: `compare` sets OPENBLAS_NUM_THREADS=1, as the peer's ranks run
// with torch.set_num_threads(1)), printed as `NAME VALUE UNIT` lines with VALUE a throughput.
// `Peers/train_torch.py` prints the same names for the machine's loopback TCP bandwidth and
// PyTorch's gloo backend.
import Distributed
import Foundation
import IOCompute

/// One rank of the benchmark's collective group, one per worker process.
distributed actor Rank {
    typealias ActorSystem = ClusterActorSystem
    var group: CollectiveGroup?

    distributed func join(_ invitation: CollectiveInvitation) async throws {
        group = try await CollectiveGroup.join(invitation)
    }

    /// The fastest of `rounds` allreduces of `count` floats, in seconds (after one warm-up).
    distributed func timeAllreduce(count: Int, rounds: Int) async throws -> Double {
        guard let group else { throw CollectiveError.invalidArgument("not joined") }
        let tensor = try Tensor<Float>.ones([count])
        keep(try await group.allreduce(tensor))
        var best = Double.infinity
        for _ in 0..<rounds {
            try await group.barrier()
            let start = ContinuousClock.now
            // Each result is dropped before the next round, as a training step drops last step's
            // gradients, so the collective's buffer is reused (as it is in training).
            keep(try await group.allreduce(tensor).count)
            let elapsed = (ContinuousClock.now - start).components
            best = min(best, Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
        }
        return best
    }
}

/// Random samples for a data-parallel benchmark: `count` rows of `features` normal values, with
/// labels 0–9.
func syntheticData(count: Int, features: Int) throws -> TrainingData<Float> {
    TrainingData(
        train: try LabeledData(
            features: try Tensor<Float>.randomNormal([count, features], seed: 1), labels: (0..<count).map { ($0 * 7) % 10 }))
}

/// The MLP of `compare nn` (64→256→256→10), and a wider, compute-bound one (256→1024→1024→10).
let smallTrainer = DataParallelTrainer<Float>(
    DataParallelRecipe(
        name: "bench-mlp",
        makeModel: { Sequential<Float>([try Linear(64, 256, seed: 1), ReLU(), try Linear(256, 256, seed: 3), ReLU(), try Linear(256, 10, seed: 5)]) },
        makeOptimizer: { SGD($0, learningRate: 0.01, momentum: 0.9) },
        loadData: { try syntheticData(count: 128 * 60, features: 64) }))
let wideTrainer = DataParallelTrainer<Float>(
    DataParallelRecipe(
        name: "bench-wide",
        makeModel: {
            Sequential<Float>([try Linear(256, 1024, seed: 1), ReLU(), try Linear(1024, 1024, seed: 3), ReLU(), try Linear(1024, 10, seed: 5)])
        },
        makeOptimizer: { SGD($0, learningRate: 0.01, momentum: 0.9) },
        loadData: { try syntheticData(count: 512 * 20, features: 256) }))

let registry = Registry().actor(Rank.self) { system in Rank(actorSystem: system) }
    .dataParallel(smallTrainer).dataParallel(wideTrainer)

try await Task.detached { try await runWorkloads() }.value

func runWorkloads() async throws {
    if wanted("allreduce_busbw_vs_loopback") || wanted("allreduce_busbw_vs_gloo") { try await runAllreduce() }
    if wanted("ddp_mlp_2proc") || wanted("ddp_wide_2proc") || wanted("ddp_wide_speedup_1to2") { try await runDataParallel() }
}

func runAllreduce() async throws {
    let ranks = 2
    let cluster = try await Cluster.start(.localProcesses(workers: ranks), registry: registry)
    var actors: [Rank] = []
    for _ in 0..<ranks { actors.append(try await cluster.spawn(Rank.self, options: ActorOptions(resources: [.cpu: 1]))) }
    let joining = actors
    let chunk = ProcessInfo.processInfo.environment["COMPARE_CHUNK_BYTES"].flatMap(Int.init) ?? CollectiveGroup.Options().chunkBytes
    let sharedMemory = ProcessInfo.processInfo.environment["COMPARE_SHARED_MEMORY"] != "0"
    try await CollectiveGroup.form(
        size: ranks, on: cluster, options: CollectiveGroup.Options(chunkBytes: chunk, sharedMemory: sharedMemory)
    ) { rank, invitation in
        try await joining[rank].join(invitation)
    }

    // 64 MiB of float32 per rank. Bus bandwidth, as nccl-tests define it: the data size times
    // 2(n-1)/n over the time, the rate each link carries in a bandwidth-optimal allreduce.
    let count = 16 << 20
    let seconds = try await withThrowingTaskGroup(of: Double.self) { tasks in
        for actor in actors {
            tasks.addTask {
                try await actor.timeAllreduce(
                    count: count, rounds: ProcessInfo.processInfo.environment["COMPARE_ROUNDS_INNER"].flatMap(Int.init) ?? 20)
            }
        }
        return try await tasks.reduce(0) { max($0, $1) }
    }
    let busBandwidth = Double(count * 4) * 2 * Double(ranks - 1) / Double(ranks) / seconds / Double(1 << 30)
    if wanted("allreduce_busbw_vs_loopback") { report("allreduce_busbw_vs_loopback", busBandwidth, "GiB/s") }
    if wanted("allreduce_busbw_vs_gloo") { report("allreduce_busbw_vs_gloo", busBandwidth, "GiB/s") }
    await cluster.shutdown()
}

func runDataParallel() async throws {
    let cluster = try await Cluster.start(.localProcesses(workers: 2), registry: registry)
    // Data-parallel training steps (forward, backward, gradient allreduce, SGD step) per second,
    // after the first 5 steps of each run.
    func stepsPerSecond(_ trainer: DataParallelTrainer<Float>, batch: Int, workers: Int) async throws -> Double {
        let config = DataParallelConfig(epochs: 1, globalBatchSize: batch, showsProgress: false)
        let steps = try await trainer.fit(config, workers: workers, on: cluster).history.steps.dropFirst(5)
        let seconds = steps.map { Double(batch) / $0.samplesPerSecond }.reduce(0, +)
        return Double(steps.count) / seconds
    }
    if wanted("ddp_mlp_2proc") { report("ddp_mlp_2proc", try await stepsPerSecond(smallTrainer, batch: 128, workers: 2), "steps/s") }
    if wanted("ddp_wide_2proc") || wanted("ddp_wide_speedup_1to2") {
        let two = try await stepsPerSecond(wideTrainer, batch: 512, workers: 2)
        if wanted("ddp_wide_2proc") { report("ddp_wide_2proc", two, "steps/s") }
        if wanted("ddp_wide_speedup_1to2") {
            report("ddp_wide_speedup_1to2", two / (try await stepsPerSecond(wideTrainer, batch: 512, workers: 1)), "x")
        }
    }
    await cluster.shutdown()
}
