import ClusterTestSupport
import Foundation
import IOFederated
import IORuntime
import Testing

@Suite("federated clients on worker processes", .timeLimit(.minutes(3)))
struct FederatedProcessTests {
    @Test("the same rounds run with clients in worker processes, plainly and securely, and go on when a worker is killed")
    func roundsAcrossProcesses() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        var clients: [FederatedClient] = []
        for index in 0..<4 {
            clients.append(
                try await cluster.spawn(
                    FederatedClient.self, with: ClientConfiguration(name: "client-\(index)", learner: "blobs", seed: UInt64(index + 1)),
                    options: ActorOptions(placement: .spread)))
        }
        let (server, history) = try await FederatedFixtures.twoRounds(clients)
        #expect(history.rounds.allSatisfy { $0.completed && $0.aggregated.count == 4 })
        #expect(try #require(history.finalAccuracy) > 0.9)

        let pids = try await clients.asyncMap { Int(try await $0.evaluate(server.global).metrics["pid"] ?? 0) }
        #expect(Set(pids).count == 2 && !pids.contains(Int(getpid())), "clients live in two worker processes: \(pids)")

        var secureConfiguration = server.configuration
        secureConfiguration.secureAggregation = SecureAggregationSettings(thresholdFraction: 0.5, range: 4, maxSampleCount: 1000)
        let secure = FederatedServer(clients: clients, strategy: FedAvg(), initial: server.global, configuration: secureConfiguration)
        let secureRecord = try await secure.fitRound()
        #expect(secureRecord.completed && secureRecord.aggregated.count == 4)

        // One worker dies: its two clients fail, and rounds go on with the other two.
        kill(pid_t(pids[0]), SIGKILL)
        let survivorCount = pids.filter { $0 != pids[0] }.count
        let plainRecord = try await server.fitRound()
        #expect(plainRecord.completed && plainRecord.aggregated.count == survivorCount, "\(plainRecord)")
        #expect(plainRecord.failed.count == 4 - survivorCount)
        let afterLoss = try await secure.fitRound()
        #expect(afterLoss.completed && afterLoss.aggregated.count == survivorCount, "\(afterLoss)")
        await cluster.shutdown()
    }
}
