import Distributed
import IORuntime
import Testing

/// An actor built from arguments, that also counts how many of its calls are under way at once.
distributed actor Scorer {
    typealias ActorSystem = ClusterActorSystem
    let weights: [Double]
    var inside = 0
    var mostInside = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    init(actorSystem: ClusterActorSystem, weights: [Double]) {
        self.actorSystem = actorSystem
        self.weights = weights
    }

    distributed func score(_ input: [Double]) -> Double { zip(weights, input).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Returns once `parties` calls are inside (all of them at once, which only a concurrency
    /// limit of at least `parties` allows).
    distributed func meet(_ parties: Int) async -> Int {
        enter()
        if waiting.count + 1 >= parties {
            for continuation in waiting { continuation.resume() }
            waiting = []
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        inside -= 1
        return mostInside
    }

    /// Waits `milliseconds` inside a call; returns the most calls seen inside at once.
    distributed func hold(milliseconds: Int) async throws -> Int {
        enter()
        defer { inside -= 1 }
        try await Task.sleep(for: .milliseconds(milliseconds))
        return mostInside
    }

    private func enter() {
        inside += 1
        mostInside = max(mostInside, inside)
    }
}

private let spawnRegistry = Functions.registry
    .actor(Scorer.self, arguments: [Double].self) { system, weights in Scorer(actorSystem: system, weights: weights) }
    .actor(Counter.self) { system in Counter(actorSystem: system) }

@Suite("Actors built from arguments, with a concurrency limit", .timeLimit(.minutes(3)))
struct ActorSpawnTests {
    @Test("an actor is built from a value or from an object in the store", arguments: [false, true])
    func arguments(codec: Bool) async throws {
        try await withCluster(workers: 2, codec: codec, registry: spawnRegistry) { cluster in
            let direct = try await cluster.spawn(Scorer.self, with: [1.0, 2, 3])
            #expect(try await direct.score([1, 1, 1]) == 6)
            let weights = try await cluster.put([0.5, -1.0])
            let first = try await cluster.spawn(Scorer.self, with: weights)
            let second = try await cluster.spawn(Scorer.self, with: weights, options: ActorOptions(placement: .worker(1, strict: true)))
            #expect(try await first.score([4, 1]) == 1)
            #expect(try await second.score([2, 2]) == -1)
        }
    }

    @Test("arguments that do not fit the registered factory are refused before anything is built", arguments: [false, true])
    func wrongArguments(codec: Bool) async throws {
        try await withCluster(workers: 1, codec: codec, registry: spawnRegistry) { cluster in
            await #expect(throws: ClusterError.self) { _ = try await cluster.spawn(Scorer.self, with: "not weights") }
            await #expect(throws: ClusterError.self) { _ = try await cluster.spawn(Scorer.self) }
            await #expect(throws: ClusterError.self) { _ = try await cluster.spawn(Counter.self, with: 3) }
            await #expect(throws: ClusterError.self) {
                _ = try await cluster.spawn(Scorer.self, with: [1.0], options: ActorOptions(maxConcurrency: 0))
            }
            // Nothing was reserved or built by the refusals.
            #expect(await cluster.status().actors.alive == 0)
            let scorer = try await cluster.spawn(Scorer.self, with: [2.0])
            #expect(try await scorer.score([3]) == 6)
        }
    }

    @Test("calls overlap up to maxConcurrency and never beyond it", arguments: [false, true])
    func concurrencyLimit(codec: Bool) async throws {
        try await withCluster(workers: 1, codec: codec, registry: spawnRegistry) { cluster in
            let scorer = try await cluster.spawn(Scorer.self, with: [1.0], options: ActorOptions(maxConcurrency: 3))
            // Three calls that can only return together: a limit below three would hang here.
            let met = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 { group.addTask { try await scorer.meet(3) } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(met.max() == 3)
            let held = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 { group.addTask { try await scorer.hold(milliseconds: 5) } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(held.allSatisfy { $0 <= 3 })
        }
    }

    @Test("through the codec, an actor with the default limit runs one call at a time")
    func oneAtATime() async throws {
        try await withCluster(workers: 1, codec: true, registry: spawnRegistry) { cluster in
            let scorer = try await cluster.spawn(Scorer.self, with: [1.0])
            let held = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await scorer.hold(milliseconds: 2) } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(held.max() == 1)
        }
    }
}
