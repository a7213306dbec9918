import ClusterTestSupport
import Foundation
import IOData
import IORuntime
import IOTensor
import Synchronization
import Testing

@Suite("actor pools on worker processes", .timeLimit(.minutes(2)))
struct ActorPoolProcessTests {
    @Test("a pool member whose worker is killed mid-call is replaced on another worker and no call is lost")
    func memberKilledMidCall() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        // One CPU each: the two members live on two workers, the third has room for a replacement.
        let pool = try await ActorPool(cluster: cluster, of: TallyActor.self, size: 2, options: ActorOptions(resources: [.cpu: 1]))
        let pids = try await pool.members.asyncMap { try await $0.processID() }
        #expect(Set(pids).count == 2)
        let victim = pids[0]
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await pool.submit { try await $0.slowAdd(1, milliseconds: 100) } } }
            try await Task.sleep(for: .milliseconds(150))
            kill(pid_t(victim), SIGKILL)
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20)
        let after = try await pool.members.asyncMap { try await $0.processID() }
        #expect(after.count == 2 && !after.contains(victim) && Set(after).count == 2, "\(after)")
        pool.shutdown()
        await cluster.shutdown()
    }

    @Test("batch inference on a pool whose member's worker is killed mid-run loses no batch and keeps the order")
    func inferenceSurvivesMemberLoss() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let weights = try await cluster.put(try Tensor<Float>(shape: [3], scalars: [1, 2, 3]))
        let pool = try await ActorPool(
            cluster: cluster, of: WeightsActor.self, with: weights, size: 2, options: ActorOptions(resources: [.cpu: 1]),
            maxInFlightPerActor: 2)
        let victim = try await pool.members[0].processID()
        let rows = (0..<400).map { [Float($0), 1, 0] }
        // The victim's worker dies as the eighth of 40 batches starts, with others in flight.
        let started = Mutex(0)
        let scores = try await Dataset(rows, blockSize: 50).mapBatches(size: 10, using: pool) { member, batch in
            if started.withLock({ $0 += 1; return $0 }) == 8 { kill(pid_t(victim), SIGKILL) }
            return try await member.dot(batch, milliseconds: 20)
        }.collect()
        #expect(scores == rows.map { $0[0] + 2 })
        let after = try await pool.members.asyncMap { try await $0.processID() }
        #expect(!after.contains(victim), "\(after)")
        pool.shutdown()
        await cluster.shutdown()
    }
}
