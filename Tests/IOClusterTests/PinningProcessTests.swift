import ClusterTestSupport
import Foundation
import IOFederated
import IORuntime
import IOTensor
import Testing

private typealias F = ClusterTestFunctions

/// Whether `error` — a ``ClusterError`` here, or its description carried back from a worker —
/// refuses pinned object `object`.
private func refusesPinned(_ error: (any Error)?, object: ObjectID) -> Bool {
    if case .pinned(let refused, _, _)? = error as? ClusterError { return refused == object }
    let text = "\(String(describing: error))"
    return text.contains("\(object)") && text.contains("pinned")
}

@Suite("pinned objects on worker processes", .timeLimit(.minutes(3)))
struct PinningProcessTests {
    @Test(
        "a pinned result never leaves its worker's process: work goes to it, every read or pull elsewhere is refused, and it dies with its worker"
    )
    func pinnedStaysInItsProcess() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let holderPID = try await cluster.submit(F.processID, 0, options: TaskOptions(placement: .worker(0, strict: true))).get()
        // 16 floats: small enough to travel inline, yet kept by the worker that made them.
        let pinned = try await cluster.submit(F.iota, 16, options: TaskOptions(placement: .worker(0, strict: true), pinsResult: true))
        _ = await cluster.wait([pinned])
        let read = await #expect(throws: ClusterError.self) { try await pinned.get() }
        #expect(refusesPinned(read, object: pinned.id))
        var status = await cluster.status()
        #expect(status.objectStore.bytesInMemory == 0, "the driver holds no copy")

        for placement in [Placement.automatic, .spread, .worker(1, strict: false)] {
            let summed = try await cluster.submit(F.sumAndWorker, pinned, options: TaskOptions(placement: placement))
            #expect(try await summed.get() == [120, 0], "\(placement)")
        }
        let elsewhere = try await cluster.submit(F.floatSum, pinned, options: TaskOptions(placement: .worker(1, strict: true)))
        let refused = await #expect(throws: ClusterError.self) { try await elsewhere.get() }
        #expect(refusesPinned(refused, object: pinned.id))

        // An actor call that borrows it is refused, on the other worker (the driver will not
        // serve it) and on its own (only tasks and actors given it may read it).
        for worker in [1, 0] {
            let tally = try await cluster.spawn(TallyActor.self, options: ActorOptions(placement: .worker(worker, strict: true)))
            let error = await #expect(throws: (any Error).self) { try await tally.sum(pinned.borrowed) }
            #expect(refusesPinned(error, object: pinned.id), "worker \(worker): \(String(describing: error))")
            cluster.kill(tally)
        }
        // An actor built from it is built in its process.
        let weights = try await cluster.spawn(WeightsActor.self, with: pinned)
        #expect(try await weights.processID() == holderPID)
        #expect(try await weights.sum() == 120)

        // Its worker dies: it is not made again elsewhere, and work on it fails, typed.
        kill(pid_t(holderPID), SIGKILL)
        #expect(await ClusterProcess.eventually { await !cluster.status().workers[0].isAlive })
        let orphan = try await cluster.submit(F.floatSum, pinned)
        let lost = await #expect(throws: ClusterError.self) { try await orphan.get() }
        #expect(refusesPinned(lost, object: pinned.id), "\(String(describing: lost))")
        #expect(try await cluster.submit(F.square, 9).get() == 81)
        status = await cluster.status()
        #expect(status.tasks.running == 0 && status.tasks.waiting == 0)
        await cluster.shutdown()
    }

    @Test("federated clients built from pinned data train in the data's process; the server cannot read the rows")
    func clientsReadPinnedData() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        var clients: [FederatedClient] = []
        var data: [ObjectRef<ClientData>] = []
        for index in 0..<4 {
            let configuration = ClientConfiguration(name: "client-\(index)", learner: "blobs", seed: UInt64(index + 1))
            let rows = try await cluster.loadClientData(FederatedFixtures.loadBlobs, configuration, on: index % 2)
            data.append(rows)
            clients.append(try await cluster.spawnClient(on: rows))
        }
        for rows in data {
            let error = await #expect(throws: ClusterError.self) { try await rows.get() }
            #expect(refusesPinned(error, object: rows.id))
        }
        let placedElsewhere = await #expect(throws: ClusterError.self) {
            try await cluster.spawnClient(on: data[0], options: ActorOptions(placement: .worker(1, strict: true)))
        }
        #expect(refusesPinned(placedElsewhere, object: data[0].id))
        let unpinned = try await cluster.submit(FederatedFixtures.loadBlobs, ClientConfiguration(name: "loose", learner: "blobs"))
        await #expect(throws: FederatedError.self) { try await cluster.spawnClient(on: unpinned) }

        let (server, history) = try await FederatedFixtures.twoRounds(clients)
        #expect(history.rounds.allSatisfy { $0.completed && $0.aggregated.count == 4 })
        #expect(try #require(history.finalAccuracy) > 0.9)
        let pids = try await clients.asyncMap { Int(try await $0.evaluate(server.global).metrics["pid"] ?? 0) }
        let holders = try await [0, 1].asyncMap { worker in
            try await cluster.submit(F.processID, 0, options: TaskOptions(placement: .worker(worker, strict: true))).get()
        }
        #expect(pids == [holders[0], holders[1], holders[0], holders[1]], "each client lives with its data")
        await cluster.shutdown()
    }
}
