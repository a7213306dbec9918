import ClusterTestSupport
import Foundation
import IORuntime
import IOServe
import IOTensor
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct RowRequest: Codable, Sendable {
    let row: [Float]
}

@Suite("model serving on worker processes", .timeLimit(.minutes(2)))
struct ServeProcessTests {
    @Test("a replica whose worker is killed mid-request is replaced and no accepted request is dropped")
    func replicaKilled() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let weights = try await cluster.put(try Tensor<Float>(shape: [3], scalars: [1, 2, 3]))
        let pool = try await ActorPool(
            cluster: cluster, of: WeightsActor.self, with: weights, size: 2, options: ActorOptions(resources: [.cpu: 1]))
        let victim = try await pool.members[0].processID()
        // The victim's worker dies as the third batch starts, with others in flight.
        let batches = Mutex(0)
        let deployment = Deployment(
            "dot", replicas: pool, request: RowRequest.self, options: DeploymentOptions(maxBatchSize: 2, batchWait: .milliseconds(20))
        ) { member, requests in
            if batches.withLock({
                $0 += 1; return $0
            }) == 3 {
                kill(pid_t(victim), SIGKILL)
            }
            return try await member.dot(requests.map(\.row), milliseconds: 50)
        }
        let server = try await ModelServer.start(port: 0, deployments: [deployment])
        let answers = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
            for index in 0..<12 {
                group.addTask {
                    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/dot")!)
                    request.httpMethod = "POST"
                    request.httpBody = try JSONEncoder().encode(RowRequest(row: [Float(index), 1, 0]))
                    let (data, response) = try await URLSession.shared.data(for: request)
                    return (index, (response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for (index, status, body) in answers {
            #expect(status == 200 && Float(body) == Float(index) + 2, "request \(index): \(status) \(body)")
        }
        let after = try await pool.members.asyncMap { try await $0.processID() }
        #expect(!after.contains(victim), "\(after)")
        await server.shutdown()
        pool.shutdown()
        await cluster.shutdown()
    }
}
