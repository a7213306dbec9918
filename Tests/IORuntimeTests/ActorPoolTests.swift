import Distributed
import Synchronization
import Testing

@testable import IORuntime

/// Counts the calls it runs at once (across every member of a pool, and its own highest).
distributed actor PoolWorker {
    typealias ActorSystem = ClusterActorSystem
    var concurrent = 0
    var highest = 0
    var calls = 0

    /// Sleeps `milliseconds`, then returns `value` doubled and how many calls this member ran at
    /// once at most.
    distributed func work(_ value: Int, milliseconds: Int) async throws -> [Int] {
        concurrent += 1
        highest = max(highest, concurrent)
        calls += 1
        try await Task.sleep(for: .milliseconds(milliseconds))
        concurrent -= 1
        return [value * 2, highest]
    }

    distributed func callCount() -> Int { calls }

    /// Returns `value` doubled at once, without suspending.
    distributed func double(_ value: Int) -> Int {
        calls += 1
        return value * 2
    }
}

/// The calls each member of a pool has been given and not answered yet, and the most at once.
final class GivenCalls: Sendable {
    private let counts = Mutex<[ActorIdentity: (now: Int, most: Int)]>([:])

    func start(_ member: ActorIdentity) {
        counts.withLock { counts in
            let now = (counts[member]?.now ?? 0) + 1
            counts[member] = (now, max(now, counts[member]?.most ?? 0))
        }
    }

    func end(_ member: ActorIdentity) { counts.withLock { $0[member]!.now -= 1 } }

    var most: [Int] { counts.withLock { $0.values.map(\.most) } }
}

@Suite("actor pools", .timeLimit(.minutes(1)))
struct ActorPoolTests {
    static let registry = Registry().actor(PoolWorker.self) { system in PoolWorker(actorSystem: system) }

    @Test("calls go to the least busy member, never more than the bound at once per member")
    func spreadAndBound() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 3, routesThroughCodec: true), registry: Self.registry)
        let pool = try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 3, maxInFlightPerActor: 2)
        // The calls each member has been given and not answered yet, as the callers see them.
        let given = GivenCalls()
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for value in 0..<30 {
                group.addTask {
                    try await pool.submit { member in
                        given.start(member.id)
                        defer { given.end(member.id) }
                        return try await member.work(value, milliseconds: 20)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.map { $0[0] }.sorted() == (0..<30).map { $0 * 2 })
        let most = given.most
        #expect(most.count == 3 && most.allSatisfy { $0 == 2 }, "\(most)")  // the bound, reached and never passed
        let counts = try await pool.members.asyncMap { try await $0.callCount() }
        #expect(counts.count == 3 && counts.reduce(0, +) == 30 && counts.allSatisfy { $0 >= 6 }, "\(counts)")
        #expect(pool.callsInFlight == 0)
        pool.shutdown()
        await #expect(throws: ClusterError.shutDown) { try await pool.submit { try await $0.callCount() } }
        await cluster.shutdown()
    }

    @Test("bursts of instant calls on one full member strand no caller (a call that ends as another starts to wait wakes it)")
    func noStrandedCaller() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 1), registry: Self.registry)
        let pool = try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 1, maxInFlightPerActor: 1)
        // The callers, the pool and the member run on threads of their own: thousands of hops
        // between tasks, each of which would otherwise queue behind the other tests' jobs.
        let threads = ThreadsExecutor(threads: 3)
        defer { threads.stop() }
        let sums = try await withTaskExecutorPreference(threads) {
            var sums: [Int] = []
            for _ in 0..<500 {
                sums.append(
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for value in 0..<50 {
                            group.addTask { try await pool.submit { try await $0.double(value) } }
                        }
                        return try await group.reduce(0, +)
                    })
            }
            return sums
        }
        #expect(sums == Array(repeating: 2 * (0..<50).reduce(0, +), count: 500))
        #expect(pool.callsInFlight == 0)
        #expect(try await pool.submit { try await $0.callCount() } == 500 * 50)
        pool.shutdown()
        await cluster.shutdown()
    }

    @Test("a pool grows while every member is busy, up to its maximum, and shrinks back once members sit idle")
    func autoscale() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Self.registry)
        let pool = try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 1...3, idleTimeout: .seconds(2))
        #expect(pool.members.count == 1)
        // Nine calls of half a second at once: the pool grows to 3 while they run (sizes seen from
        // inside the calls; members only shrink after 2 s idle, well after the calls end).
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for value in 0..<9 {
                group.addTask {
                    try await pool.submit { member in
                        _ = try await member.work(value, milliseconds: 500)
                        return pool.members.count
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sizes.max() == 3)
        // Idle for a whole timeout: back to the minimum (the reaper looks every half timeout).
        var waited = 0
        while pool.members.count > 1, waited < 600 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(pool.members.count == 1)
        #expect(try await pool.submit { try await $0.work(4, milliseconds: 0) }[0] == 8)
        pool.shutdown()
        await cluster.shutdown()
    }

    @Test("a member that is gone is replaced and the call runs on another; past the retries the loss is thrown")
    func replacement() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 2, routesThroughCodec: true), registry: Self.registry)
        let pool = try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 2)
        let before = pool.members
        cluster.kill(before[0])
        for value in 0..<6 { #expect(try await pool.submit { try await $0.work(value, milliseconds: 0) }[0] == value * 2) }
        let after = pool.members
        #expect(after.count == 2 && !after.contains { $0.id == before[0].id } && after.contains { $0.id == before[1].id })
        // A pool that may not retry gives the loss to its caller.
        let strict = try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 1, retriesOnMemberLoss: 0)
        cluster.kill(strict.members[0])
        await #expect(throws: ActorError.self) { try await strict.submit { try await $0.callCount() } }
        #expect(try await strict.submit { try await $0.callCount() } == 0)  // its replacement serves
        await #expect(throws: ClusterError.self) { try await ActorPool(cluster: cluster, of: PoolWorker.self, size: 0...2) }
        pool.shutdown()
        strict.shutdown()
        await cluster.shutdown()
    }
}
