import ClusterTestSupport
import Foundation
import IORuntime
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
}
