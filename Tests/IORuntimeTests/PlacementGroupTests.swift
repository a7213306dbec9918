import IORuntime
import Testing

@Suite("Placement groups", .timeLimit(.minutes(3)))
struct PlacementGroupTests {
    @Test("bundles are reserved together, tasks in a bundle run on its worker, and removal releases them")
    func reserveRunRelease() async throws {
        try await withActorCluster(workers: 3, codec: false) { cluster in
            let group = try await cluster.createPlacementGroup([[.cpu: 1], [.cpu: 1]], strategy: .strictSpread)
            #expect(Set(group.workers).count == 2)
            var status = await cluster.status()
            #expect(status.workers.map { $0.available[.cpu] }.reduce(0, +) == 1)
            for index in 0..<2 {
                let ref = try await cluster.submit(Functions.whereAmI, 0, options: TaskOptions(placement: group.bundle(index)))
                #expect(try await ref.get() == group.workers[index])
            }
            // Work outside the group only gets the third worker.
            let outside = try await cluster.submit(Functions.whereAmI, 0)
            #expect(try await outside.get() == Set(0..<3).subtracting(group.workers).first)
            // An actor can live in a bundle, drawing on its reservation.
            let counter = try await cluster.spawn(Counter.self, options: ActorOptions(resources: [.cpu: 1], placement: group.bundle(1)))
            #expect(try await counter.add(2) == 2)
            await #expect(throws: ClusterError.self) {
                try await cluster.submit(Functions.square, 1, options: TaskOptions(resources: [.cpu: 2], placement: group.bundle(0)))
            }
            cluster.kill(counter)
            cluster.removePlacementGroup(group)
            status = await cluster.status()
            #expect(status.workers.allSatisfy { $0.available == $0.total })
        }
    }

    @Test("a group that does not fit reserves nothing", arguments: [PlacementStrategy.strictPack, .strictSpread])
    func allOrNothing(strategy: PlacementStrategy) async throws {
        try await withActorCluster(workers: 2, codec: false) { cluster in
            let bundles: [ResourceSet] = strategy == .strictPack ? [[.cpu: 1], [.cpu: 1]] : [[.cpu: 1], [.cpu: 1], [.cpu: 1]]
            await #expect(throws: ClusterError.self) { try await cluster.createPlacementGroup(bundles, strategy: strategy) }
            let status = await cluster.status()
            #expect(status.workers.allSatisfy { $0.available == $0.total })
            let packed = try await cluster.createPlacementGroup([[.cpu: 0.5], [.cpu: 0.5]], strategy: .strictPack)
            #expect(packed.workers[0] == packed.workers[1])
        }
    }
}
