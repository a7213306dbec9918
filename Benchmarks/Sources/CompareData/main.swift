import CompareSupport
// The IOCompute half of `compare data`: batch inference of one MLP over the same rows on an
// actor pool, against Ray Data's `map_batches` with an actor pool of the same size
// (`Peers/data_ray.py`), printed as `NAME VALUE UNIT` lines with VALUE a throughput.
//
// - batch_inference: 100,000 rows of 64 floats (seeded), an MLP 64-128-64-10, batches of 256
//   on a pool of 2 model actors (one CPU and one BLAS thread each, 4 batches in flight each, as
//   Ray Data allows its actors by default) built once from weights put
//   in the object store, predictions collected in order; rows/s. The cluster is in process.
// - batch_inference_processes: the same with the actors in 2 worker processes (this program
//   again), so every batch and its predictions cross a process boundary, as in Ray.
import Distributed
import Foundation
import IOCompute

enum Workload {
    /// 100,000 by default; `--rows=N` for another count (the peer takes the same option).
    static let rows = CommandLine.arguments.first { $0.hasPrefix("--rows=") }.flatMap { Int($0.dropFirst("--rows=".count)) } ?? 100_000
    static let batchSize = 256

    static func model() throws -> Sequential<Float> {
        Sequential<Float>([try Linear(64, 128, seed: 1), ReLU(), try Linear(128, 64, seed: 2), ReLU(), try Linear(64, 10, seed: 3)])
    }

    /// The rows: 64 uniform values in [0, 1) each, from a fixed seed.
    static let data: [[Float]] = {
        let scalars = try! Tensor<Float>.randomUniform([rows, 64], lowerBound: 0, upperBound: 1, seed: 42).scalars
        return (0..<rows).map { Array(scalars[($0 * 64)..<(($0 + 1) * 64)]) }
    }()
}

distributed actor ModelActor {
    typealias ActorSystem = ClusterActorSystem
    private let model: Sequential<Float>

    init(actorSystem: ClusterActorSystem, weights: [String: Tensor<Float>]) throws {
        self.actorSystem = actorSystem
        model = try Workload.model()
        try model.loadStateDictionary(weights)
        model.eval()
    }

    /// The most likely class of each row.
    distributed func predict(_ rows: [[Float]]) throws -> [Int] {
        let input = try Tensor<Float>(shape: [rows.count, 64], scalars: rows.flatMap { $0 })
        return try withoutGradients { try model(Variable(input)).value.argmax(alongAxis: 1).scalars }
    }
}

let registry = Registry().actor(ModelActor.self, arguments: [String: Tensor<Float>].self) { system, weights in
    try ModelActor(actorSystem: system, weights: weights)
}
// One BLAS thread per actor, as the peer's actors get (OMP_NUM_THREADS=1).
TensorBackend.setBLASThreads(1)

let processes = try await Cluster.start(.localProcesses(workers: 2), registry: registry)
let inProcess = try await Cluster.start(.inProcess(workers: 2), registry: registry)
let data = Workload.data
for caller in callers() {
    let suffix = rowSuffix(caller)
    if caller == "main" {
        try await runWorkloads(suffix: suffix)
    } else {
        try await Task.detached { try await runWorkloads(suffix: suffix) }.value
    }
}
await inProcess.shutdown()
await processes.shutdown()

/// Runs on the caller's executor: the main actor's when top-level code calls it.
nonisolated(nonsending) func runWorkloads(suffix: String) async throws {
    for (name, cluster) in [("batch_inference", inProcess), ("batch_inference_processes", processes)] where wanted(name) {
        let dataset = Dataset(data, blockSize: 1_000)
        // Each run starts its pool (the model put in the store, two actors built from it) as
        // each of Ray Data's executions starts its actors, and stops it at the end.
        let seconds = try await bestSeconds(rounds: 2) {
            let weights = try await cluster.put(try Workload.model().stateDictionary())
            let pool = try await ActorPool(
                cluster: cluster, of: ModelActor.self, with: weights, size: 2, options: ActorOptions(resources: [.cpu: 1]),
                maxInFlightPerActor: 4)
            var count = 0
            try await dataset.mapBatches(size: Workload.batchSize, using: pool) { model, batch in try await model.predict(batch) }
                .forEachBlock { count += $0.count }
            precondition(count == Workload.rows)
            pool.shutdown()
        }
        report(name + suffix, Double(Workload.rows) / seconds, "rows/s")
    }
}
