import CompareSupport
// The IOCompute half of `compare train`: collective bandwidth between local worker processes
// (this program re-executed), printed as `NAME VALUE UNIT` lines with VALUE a throughput.
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
            keep(try await group.allreduce(tensor))
            let elapsed = (ContinuousClock.now - start).components
            best = min(best, Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18)
        }
        return best
    }
}

let registry = Registry().actor(Rank.self) { system in Rank(actorSystem: system) }

try await Task.detached { try await runWorkloads() }.value

func runWorkloads() async throws {
    let ranks = 2
    let cluster = try await Cluster.start(.localProcesses(workers: ranks), registry: registry)
    var actors: [Rank] = []
    for _ in 0..<ranks { actors.append(try await cluster.spawn(Rank.self, options: ActorOptions(resources: [.cpu: 1]))) }
    let joining = actors
    let chunk = ProcessInfo.processInfo.environment["COMPARE_CHUNK_BYTES"].flatMap(Int.init) ?? CollectiveGroup.Options().chunkBytes
    try await CollectiveGroup.form(size: ranks, on: cluster, options: CollectiveGroup.Options(chunkBytes: chunk)) { rank, invitation in
        try await joining[rank].join(invitation)
    }

    // 64 MiB of float32 per rank. Bus bandwidth, as nccl-tests define it: the data size times
    // 2(n-1)/n over the time, the rate each link carries in a bandwidth-optimal allreduce.
    let count = 16 << 20
    let seconds = try await withThrowingTaskGroup(of: Double.self) { tasks in
        for actor in actors {
            tasks.addTask {
                try await actor.timeAllreduce(
                    count: count, rounds: ProcessInfo.processInfo.environment["COMPARE_ROUNDS_INNER"].flatMap(Int.init) ?? 5)
            }
        }
        return try await tasks.reduce(0) { max($0, $1) }
    }
    let busBandwidth = Double(count * 4) * 2 * Double(ranks - 1) / Double(ranks) / seconds / Double(1 << 30)
    if wanted("allreduce_busbw_vs_loopback") { report("allreduce_busbw_vs_loopback", busBandwidth, "GiB/s") }
    if wanted("allreduce_busbw_vs_gloo") { report("allreduce_busbw_vs_gloo", busBandwidth, "GiB/s") }
    await cluster.shutdown()
}
