import ClusterTestSupport
import IORuntime
import IOTensor
import IOTrain
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Collectives across worker processes", .timeLimit(.minutes(5)))
struct CollectiveProcessTests {
    /// `count` rank actors, one per worker process, joined in a group.
    func ranks(_ cluster: Cluster, count: Int, chunkBytes: Int = 64 << 10, sharedMemory: Bool = true) async throws -> [CollectiveRankActor]
    {
        var ranks: [CollectiveRankActor] = []
        for _ in 0..<count { ranks.append(try await cluster.spawn(CollectiveRankActor.self, options: ActorOptions(resources: [.cpu: 1]))) }
        let joining = ranks
        try await CollectiveGroup.form(
            size: count, on: cluster, options: CollectiveGroup.Options(chunkBytes: chunkBytes, sharedMemory: sharedMemory)
        ) {
            rank, invitation in
            try await joining[rank].join(invitation)
        }
        return ranks
    }

    @Test(
        "allreduce, allgather, broadcast and barrier between three processes equal a local computation, through shared memory or TCP",
        arguments: [true, false])
    func collectives(sharedMemory: Bool) async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let ranks = try await ranks(cluster, count: 3, sharedMemory: sharedMemory)
        let pids = try await ranks.asyncMap { try await $0.processID() }
        #expect(Set(pids).count == 3)
        // Processes on one host hand messages over in shared memory unless told not to.
        for rank in ranks { #expect(try await rank.sendsThroughSharedMemory() == sharedMemory) }
        let inputs = try (0..<3).map { try Tensor<Float>.randomNormal([100_003], seed: UInt64(7 + $0)) }
        for operation in [ReduceOperation.sum, .maximum, .average] {
            let results = try await withThrowingTaskGroup(of: (Int, Tensor<Float>).self) { tasks in
                for rank in 0..<3 { tasks.addTask { (rank, try await ranks[rank].allreduce(inputs[rank], operation: operation.rawValue)) } }
                return try await tasks.reduce(into: [Int: Tensor<Float>]()) { $0[$1.0] = $1.1 }
            }
            let columns = inputs.map(\.scalars)
            for rank in 0..<3 {
                let result = results[rank]!.scalars
                var worst = 0.0
                for index in stride(from: 0, to: result.count, by: 1) {
                    let values = columns.map { Double($0[index]) }
                    let expected =
                        switch operation {
                        case .maximum: values.max()!
                        case .average: values.reduce(0, +) / 3
                        default: values.reduce(0, +)
                        }
                    worst = max(worst, abs(Double(result[index]) - expected))
                }
                #expect(worst < 1e-5, "\(operation) on rank \(rank): error \(worst)")
            }
        }
        let gathered = try await withThrowingTaskGroup(of: Tensor<Float>.self) { tasks in
            for rank in 0..<3 { tasks.addTask { try await ranks[rank].allgather(inputs[rank]) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        let stacked = inputs.flatMap(\.scalars)
        for result in gathered { #expect(result.shape == [3, 100_003] && result.scalars == stacked) }
        let broadcast = try await withThrowingTaskGroup(of: Tensor<Float>.self) { tasks in
            for rank in 0..<3 { tasks.addTask { try await ranks[rank].broadcast(inputs[rank], root: 2) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        for result in broadcast { #expect(result.scalars == inputs[2].scalars) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for rank in ranks { tasks.addTask { try await rank.barrier() } }
            try await tasks.waitForAll()
        }
        await cluster.shutdown()
    }

    @Test("when a rank's process is killed, the others' collective fails typed instead of hanging")
    func rankKilled() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let ranks = try await ranks(cluster, count: 3)
        let victim = try await ranks[1].processID()
        let outcomes = try await withThrowingTaskGroup(of: String.self) { tasks in
            for rank in [0, 2] {
                tasks.addTask {
                    do {
                        _ = try await ranks[rank].allreduce(try Tensor<Float>(repeating: 1, shape: [1000]), operation: 0)
                        return "finished"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            kill(pid_t(victim), SIGKILL)
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        for outcome in outcomes {
            #expect(outcome.contains("rank 1 was lost"), "\(outcome)")
        }
        await cluster.shutdown()
    }
}
