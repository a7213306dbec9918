import Distributed
import Testing

@testable import IORuntime

/// Functions and an actor for the pinning tests: rows made on one worker, and code that reports
/// where it ran.
enum PinningFunctions {
    /// `count` rows, 0..<count.
    static let rows = RemoteFunction("pinning.rows") { (count: Int) async throws -> [Int] in Array(0..<count) }
    /// The rows' sum and the worker that summed them.
    static let sumHere = RemoteFunction("pinning.sumHere") { (rows: [Int]) async throws -> [Int] in
        [rows.reduce(0, +), TaskContext.worker ?? -1]
    }
    /// Both inputs' sizes and the worker.
    static let pair = RemoteFunction("pinning.pair") { (first: [Int], second: [Int]) async throws -> [Int] in
        [first.count, second.count, TaskContext.worker ?? -1]
    }
    /// The total size of gathered rows.
    static let count = RemoteFunction("pinning.count") { (parts: [[Int]]) async throws -> Int in parts.map(\.count).reduce(0, +) }

    static var registry: Registry {
        ActorFunctions.registry.function(rows).function(sumHere).function(pair).function(count)
            .actor(RowKeeper.self, arguments: [Int].self) { system, rows in RowKeeper(actorSystem: system, rows: rows) }
    }
}

/// An actor built from rows, which remembers the worker that built it.
distributed actor RowKeeper {
    typealias ActorSystem = ClusterActorSystem
    let rows: [Int]
    let worker: Int

    init(actorSystem: ClusterActorSystem, rows: [Int]) {
        self.actorSystem = actorSystem
        self.rows = rows
        worker = actorSystem.worker ?? -1
    }

    distributed func sum() -> Int { rows.reduce(0, +) }
    distributed func builtOn() -> Int { worker }
}

/// Whether `error` refuses pinned object `object`, held by `worker`.
func refusesPinned(_ error: (any Error)?, object: ObjectID, worker: Int?) -> Bool {
    guard case .pinned(let refused, let holder, _)? = error as? ClusterError else { return false }
    return refused == object && holder == worker
}

@Suite("Pinned objects", .timeLimit(.minutes(3)))
struct PinningTests {
    @Test("a pinned result stays with its worker: work goes there, and every read or move elsewhere is refused", arguments: [false, true])
    func workGoesToPinnedData(codec: Bool) async throws {
        try await withCluster(workers: 3, codec: codec, registry: PinningFunctions.registry) { cluster in
            let pinned = TaskOptions(placement: .worker(1, strict: true), pinsResult: true)
            let rows = try await cluster.submit(PinningFunctions.rows, 100, options: pinned)
            #expect(rows.isPinned)
            let unpinned = try await cluster.submit(PinningFunctions.rows, 10, options: TaskOptions(placement: .worker(2, strict: true)))
            #expect(!unpinned.isPinned)

            // Reading it on the driver is refused, at once and once it is ready.
            let early = await #expect(throws: ClusterError.self) { try await rows.get() }
            #expect(refusesPinned(early, object: rows.id, worker: nil) || refusesPinned(early, object: rows.id, worker: 1))
            _ = await cluster.wait([rows])
            let late = await #expect(throws: ClusterError.self) { try await rows.get() }
            #expect(refusesPinned(late, object: rows.id, worker: 1), "\(String(describing: late))")

            // Tasks that take it run on its worker, whatever placement they would otherwise get.
            for placement in [Placement.automatic, .spread, .worker(2, strict: false), .worker(1, strict: true)] {
                let summed = try await cluster.submit(PinningFunctions.sumHere, rows, options: TaskOptions(placement: placement))
                #expect(try await summed.get() == [4950, 1], "\(placement)")
            }
            let mixed = try await cluster.submit(PinningFunctions.pair, rows, unpinned)
            #expect(try await mixed.get() == [100, 10, 1])

            // A task bound elsewhere, pinned inputs on two workers, or gathered pinned parts fail.
            let elsewhere = try await cluster.submit(
                PinningFunctions.sumHere, rows, options: TaskOptions(placement: .worker(0, strict: true)))
            let refusedPlacement = await #expect(throws: ClusterError.self) { try await elsewhere.get() }
            #expect(refusesPinned(refusedPlacement, object: rows.id, worker: 1))
            let other = try await cluster.submit(
                PinningFunctions.rows, 5, options: TaskOptions(placement: .worker(2, strict: true), pinsResult: true))
            let apart = try await cluster.submit(PinningFunctions.pair, rows, other)
            let refusedApart = await #expect(throws: ClusterError.self) { try await apart.get() }
            #expect(refusesPinned(refusedApart, object: other.id, worker: 2))
            // A bundle of a placement group on another worker is elsewhere too; one on the holder is not.
            let group = try await cluster.createPlacementGroup([[.cpu: 0.25], [.cpu: 0.25]], strategy: .strictSpread)
            for index in 0..<2 {
                let inBundle = try await cluster.submit(
                    PinningFunctions.sumHere, rows, options: TaskOptions(resources: [.cpu: 0.25], placement: group.bundle(index)))
                if group.workers[index] == 1 {
                    #expect(try await inBundle.get() == [4950, 1])
                } else {
                    let refusedBundle = await #expect(throws: ClusterError.self) { try await inBundle.get() }
                    #expect(refusesPinned(refusedBundle, object: rows.id, worker: 1))
                }
            }
            cluster.removePlacementGroup(group)
            let gathered = try await cluster.submit(PinningFunctions.count, [rows, unpinned].gathered())
            let refusedGather = await #expect(throws: ClusterError.self) { try await gathered.get() }
            #expect(refusesPinned(refusedGather, object: rows.id, worker: 1))

            // An actor built from it is built on its worker; one placed elsewhere is refused.
            let keeper = try await cluster.spawn(RowKeeper.self, with: rows)
            #expect(try await keeper.builtOn() == 1)
            #expect(try await keeper.sum() == 4950)
            let misplaced = await #expect(throws: ClusterError.self) {
                try await cluster.spawn(RowKeeper.self, with: rows, options: ActorOptions(placement: .worker(0, strict: true)))
            }
            #expect(refusesPinned(misplaced, object: rows.id, worker: 1))

            // An actor call cannot carry it either.
            let counter = try await cluster.spawn(Counter.self, options: ActorOptions(placement: .worker(1, strict: true)))
            await #expect(throws: (any Error).self) { try await counter.addAll(rows.borrowed) }

            // The cluster still works, and its books balance.
            #expect(try await cluster.submit(Functions.square, 7).get() == 49)
            let status = await cluster.status()
            #expect(status.tasks.waiting == 0 && status.tasks.running == 0)
        }
    }
}
