import Foundation
import IORuntime
import Synchronization
import Testing

/// How many `Pipelined.occupy` tasks run at once, and the most seen.
final class Occupancy: Sendable {
    let now = Atomic<Int>(0)
    let most = Atomic<Int>(0)

    func enter() {
        let current = now.add(1, ordering: .relaxed).newValue
        var seen = most.load(ordering: .relaxed)
        while current > seen {
            let (exchanged, original) = most.compareExchange(expected: seen, desired: current, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func leave() { now.subtract(1, ordering: .relaxed) }
}

let pipelineOccupancy = Occupancy()

enum Pipelined {
    static let increment = RemoteFunction("increment") { (x: Int) async throws -> Int in x + 1 }
    /// Holds its worker's CPU for a moment, counting how many tasks do so at once.
    static let occupy = RemoteFunction("occupy") { (x: Int) async throws -> Int in
        pipelineOccupancy.enter()
        defer { pipelineOccupancy.leave() }
        let end = ContinuousClock.now + .microseconds(200)
        while ContinuousClock.now < end {}
        return x
    }
    static let failOdd = RemoteFunction("failOdd") { (x: Int) async throws -> Int in
        if x % 2 == 1 { throw Boom(code: x) }
        return x
    }
    static let gated = RemoteFunction("pipelinedGated") { (gate: Int) async throws -> Int in
        try await TestGates.wait(gate)
        return gate
    }

    static var registry: Registry { Registry().function(increment).function(occupy).function(failOdd).function(gated) }
}

/// Starts an in-process cluster that queues short tasks behind running ones, as worker
/// processes do, through the codec.
func withPipelinedCluster(workers: Int = 2, depth: Int = 4, _ body: (Cluster) async throws -> Void) async throws {
    var configuration = ClusterConfiguration.inProcess(workers: workers, routesThroughCodec: true)
    configuration.pipelineDepth = depth
    // Every function counts as short however loaded the machine is, so that queues form.
    configuration.pipelinedTaskLimit = .seconds(60)
    try await withCluster(configuration, registry: Pipelined.registry, body)
}

@Suite("Pipelined tasks", .timeLimit(.minutes(3)))
struct PipeliningTests {
    @Test("a burst of short tasks all finish with their own results")
    func burst() async throws {
        try await withPipelinedCluster { cluster in
            // The first task teaches the core that `increment` is short.
            #expect(try await cluster.submit(Pipelined.increment, 0).get() == 1)
            let refs = try await (0..<3000).asyncMap { try await cluster.submit(Pipelined.increment, $0) }
            #expect(try await cluster.get(refs) == (0..<3000).map { $0 + 1 })
            let status = await cluster.status()
            #expect(status.tasks.running == 0)
            #expect(status.tasks.pipelined > 0)
            #expect(status.workers.allSatisfy { $0.available == $0.total })
        }
    }

    @Test("queued tasks never run beside the task they wait for: a worker with one CPU runs one at a time")
    func oneAtATime() async throws {
        try await withPipelinedCluster(depth: 8) { cluster in
            #expect(try await cluster.submit(Pipelined.occupy, 0).get() == 0)
            let refs = try await (0..<400).asyncMap { try await cluster.submit(Pipelined.occupy, $0) }
            #expect(try await cluster.get(refs) == Array(0..<400))
            #expect(pipelineOccupancy.most.load(ordering: .relaxed) <= 2)
            #expect(pipelineOccupancy.most.load(ordering: .relaxed) >= 1)
            #expect(await cluster.status().tasks.pipelined > 0)
        }
    }

    @Test("thrown errors in the middle of a queue fail only their own tasks")
    func errorsInQueues() async throws {
        try await withPipelinedCluster { cluster in
            _ = try await cluster.submit(Pipelined.failOdd, 0).get()
            let refs = try await (0..<600).asyncMap { try await cluster.submit(Pipelined.failOdd, $0) }
            for (value, ref) in refs.enumerated() {
                if value % 2 == 0 {
                    #expect(try await ref.get() == value)
                } else {
                    await #expect(throws: TaskError.self) { try await ref.get() }
                }
            }
            let status = await cluster.status()
            #expect(status.tasks.failed == 300)
            #expect(status.tasks.pipelined > 0)
            #expect(status.workers.allSatisfy { $0.available == $0.total })
        }
    }

    @Test("a queued task cancelled before it starts is reported cancelled; the queue behind it goes on")
    func cancelQueued() async throws {
        try await withPipelinedCluster(workers: 1) { cluster in
            // The driver queues a function's tasks only once it has timed some.
            for _ in 0..<2 {
                let open = TestGates.make()
                TestGates.open(open)
                #expect(try await cluster.submit(Pipelined.gated, open).get() == open)
            }
            let blocker = TestGates.make()
            let running = try await cluster.submit(Pipelined.gated, blocker)
            let open = TestGates.make()
            TestGates.open(open)
            // The one worker is busy: these queue behind `running` there.
            let queued = try await (0..<4).asyncMap { _ in try await cluster.submit(Pipelined.gated, open) }
            cluster.cancel(queued[1])
            cluster.cancel(queued[2])
            TestGates.open(blocker)
            #expect(try await running.get() == blocker)
            #expect(try await queued[0].get() == open)
            await #expect(throws: CancellationError.self) { try await queued[1].get() }
            await #expect(throws: CancellationError.self) { try await queued[2].get() }
            #expect(try await queued[3].get() == open)
            let status = await cluster.status()
            #expect(status.tasks.running == 0)
            #expect(status.tasks.pipelined == 4)
            #expect(status.workers.allSatisfy { $0.available == $0.total })
        }
    }

    @Test("a queued task's timeout counts from when it starts, not from when it was queued")
    func timeoutsStartWithTheTask() async throws {
        try await withPipelinedCluster(workers: 1) { cluster in
            let blocker = TestGates.make()
            let open = TestGates.make()
            TestGates.open(open)
            // The driver queues a function's tasks only once it has timed some.
            for _ in 0..<2 { _ = try await cluster.submit(Pipelined.gated, open).get() }
            let running = try await cluster.submit(Pipelined.gated, blocker)
            // Queued tasks that wait forever once started, so each ends by its timeout, and they
            // start one after another. Only lower bounds on time are checked, which a loaded
            // machine cannot break: a queued task started no earlier than the blocker opened, so
            // its timeout, counted from its start, cannot fire sooner than a second later, nor
            // the i-th's sooner than i seconds later. A timer counted from queueing would have
            // run out during the wait below and failed them at once.
            let never = TestGates.make()
            let timed = TaskOptions(timeout: .seconds(1))
            let queued = try await (0..<3).asyncMap { _ in try await cluster.submit(Pipelined.gated, never, options: timed) }
            try await Task.sleep(for: .seconds(2))
            #expect(await cluster.wait(queued, count: 1, timeout: .zero).ready.isEmpty)
            let opened = ContinuousClock.now
            TestGates.open(blocker)
            #expect(try await running.get() == blocker)
            for (position, ref) in queued.enumerated() {
                await #expect(throws: ClusterError.timedOut(task: "pipelinedGated", seconds: 1)) { try await ref.get() }
                // The timer's queue may fire a hair early against this clock; 20 ms allows for it.
                #expect(ContinuousClock.now - opened >= .seconds(position + 1) - .milliseconds(20))
            }
            #expect(await cluster.status().tasks.pipelined >= 3)
        }
    }

    @Test("without pipelining (depth 0) the same burst runs as before")
    func depthZero() async throws {
        try await withPipelinedCluster(depth: 0) { cluster in
            let refs = try await (0..<500).asyncMap { try await cluster.submit(Pipelined.increment, $0) }
            #expect(try await cluster.get(refs) == (0..<500).map { $0 + 1 })
            #expect(await cluster.status().tasks.pipelined == 0)
        }
    }

    @Test("a negative pipeline depth is an invalid configuration")
    func negativeDepth() async throws {
        var configuration = ClusterConfiguration.inProcess(workers: 1)
        configuration.pipelineDepth = -1
        await #expect(throws: ClusterError.self) { try await Cluster.start(configuration, registry: Pipelined.registry) }
    }
}
