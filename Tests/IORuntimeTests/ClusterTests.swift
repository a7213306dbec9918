import Foundation
import IORuntime
import Synchronization
import Testing

struct Boom: Error, CustomStringConvertible {
    let code: Int
    var description: String { "boom \(code)" }
}

/// Counts attempts across retries.
final class AttemptCounter: Sendable {
    let count = Atomic<Int>(0)
    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}

let flakyAttempts = AttemptCounter()

enum Functions {
    static let square = RemoteFunction("square") { (x: Int) async throws -> Int in x * x }
    static let add = RemoteFunction("add") { (a: Int, b: Int) async throws -> Int in a + b }
    static let sum = RemoteFunction("sum") { (values: [Int]) async throws -> Int in values.reduce(0, +) }
    static let label = RemoteFunction("label") { (name: String, count: Int, scale: Double) async throws -> String in
        "\(name)=\(Double(count) * scale)"
    }
    static let fail = RemoteFunction("fail") { (code: Int) async throws -> Int in throw Boom(code: code) }
    static let sleep = RemoteFunction("sleep") { (milliseconds: Int) async throws -> Int in
        try await Task.sleep(for: .milliseconds(milliseconds))
        return milliseconds
    }
    static let spin = RemoteFunction("spin") { (milliseconds: Int) async throws -> Int in
        // Ignores cancellation on purpose.
        let end = ContinuousClock.now + .milliseconds(milliseconds)
        while ContinuousClock.now < end {}
        return milliseconds
    }
    static let flaky = RemoteFunction("flaky") { (failures: Int) async throws -> Int in
        let attempt = flakyAttempts.next()
        if attempt <= failures { throw Boom(code: attempt) }
        return attempt
    }
    static let whereAmI = RemoteFunction("whereAmI") { (_: Int) async throws -> Int in TaskContext.worker ?? -1 }
    static let bytes = RemoteFunction("bytes") { (count: Int, seed: UInt8) async throws -> [UInt8] in
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    /// Waits until the test opens gate `gate` (see ``TestGates``), then returns it.
    static let gated = RemoteFunction("gated") { (gate: Int) async throws -> Int in
        try await TestGates.wait(gate)
        return gate
    }

    static let locate = RemoteFunction("locate") { (_: [UInt8], _: [UInt8]) async throws -> Int in TaskContext.worker ?? -1 }
    /// The byte count of both inputs when they hold the same bytes, -1 otherwise.
    static let sameBytes = RemoteFunction("sameBytes") { (a: [UInt8], b: [UInt8]) async throws -> Int in a == b ? a.count + b.count : -1 }

    static var registry: Registry {
        Registry().function(square).function(add).function(sum).function(label).function(fail).function(sleep)
            .function(spin).function(flaky).function(whereAmI).function(bytes).function(locate).function(gated)
            .function(sameBytes)
    }
}

/// Runs `body` on a fresh cluster, directly or through the codec, and shuts it down.
func withCluster(
    workers: Int = 2, codec: Bool, resources: ResourceSet = [.cpu: 1], memory: Int = 1 << 30,
    registry: Registry = Functions.registry, _ body: (Cluster) async throws -> Void
) async throws {
    try await withCluster(
        .inProcess(workers: workers, resourcesPerWorker: resources, objectStoreMemory: memory, routesThroughCodec: codec),
        registry: registry, body)
}

/// Runs `body` on a fresh cluster made with `configuration`, and shuts it down.
func withCluster(
    _ configuration: ClusterConfiguration, registry: Registry, _ body: (Cluster) async throws -> Void
) async throws {
    let cluster = try await Cluster.start(configuration, registry: registry)
    do {
        try await body(cluster)
    } catch {
        await cluster.shutdown()
        throw error
    }
    await cluster.shutdown()
}

@Suite("Task graphs", .timeLimit(.minutes(3)))
struct TaskGraphTests {
    @Test("submit returns a ref at once and get returns the result", arguments: [false, true])
    func basic(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let ref = try await cluster.submit(Functions.square, 12)
            #expect(try await ref.get() == 144)
            let text = try await cluster.submit(Functions.label, "x", 3, 0.5)
            #expect(try await cluster.get(text) == "x=1.5")
            let refs = try await (0..<50).asyncMap { try await cluster.submit(Functions.square, $0) }
            #expect(try await cluster.get(refs) == (0..<50).map { $0 * $0 })
        }
    }

    @Test("a chain of 1,000 dependent tasks", arguments: [false, true])
    func chain(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            var ref = try await cluster.put(0)
            for step in 1...1000 { ref = try await cluster.submit(Functions.add, ref, step) }
            #expect(try await ref.get() == 500_500)
        }
    }

    @Test("a diamond: two branches over one input, joined", arguments: [false, true])
    func diamond(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let top = try await cluster.submit(Functions.square, 3)
            let left = try await cluster.submit(Functions.add, top, 1)
            let right = try await cluster.submit(Functions.square, top)
            let bottom = try await cluster.submit(Functions.add, left, right)
            #expect(try await bottom.get() == 10 + 81)
        }
    }

    @Test("a fan-in of 10,000 tasks into one", arguments: [false, true])
    func fanIn(codec: Bool) async throws {
        try await withCluster(workers: 4, codec: codec) { cluster in
            let parts = try await (0..<10_000).asyncMap { try await cluster.submit(Functions.square, $0) }
            let total = try await cluster.submit(Functions.sum, parts.gathered())
            #expect(try await total.get() == (0..<10_000).reduce(0) { $0 + $1 * $1 })
            let status = await cluster.status()
            #expect(status.tasks.finished == 10_001)
        }
    }

    @Test("wait returns once the requested number of refs is ready, at the timeout, or when cancelled")
    func wait() async throws {
        try await withCluster(workers: 4, codec: false) { cluster in
            // The slow task waits for the test to let it finish, however loaded the machine.
            let gate = TestGates.make()
            let fast = try await (0..<3).asyncMap { try await cluster.submit(Functions.square, $0) }
            let slow = try await cluster.submit(Functions.gated, gate)
            let (ready, pending) = await cluster.wait(fast + [slow], count: 3)
            #expect(ready == fast && pending == [slow])
            let timedOut = await cluster.wait([slow], timeout: .milliseconds(20))
            #expect(timedOut.ready.isEmpty && timedOut.pending == [slow])
            let waiting = Task { await cluster.wait([slow]) }
            waiting.cancel()
            #expect(await waiting.value.pending == [slow], "a cancelled wait returns what is ready")
            TestGates.open(gate)
            #expect(await cluster.wait([slow]).ready == [slow])
        }
    }

    @Test("wait counts sealed, failed and put objects as ready, in the order given", arguments: [false, true])
    func waitOnSettled(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let squares = try await (0..<50).asyncMap { try await cluster.submit(Functions.square, $0) }
            let failed = try await cluster.submit(Functions.fail, 3)
            let stored = try await cluster.put(7)
            _ = try await cluster.get(squares)
            await #expect(throws: TaskError.self) { try await failed.get() }
            let refs = squares + [failed, stored]
            let answer = await cluster.wait(refs)
            #expect(answer.ready == refs && answer.pending.isEmpty)
            // A pending one among them is reported as such, the rest as ready.
            let gate = TestGates.make()
            let gated = try await cluster.submit(Functions.gated, gate)
            let mixed = await cluster.wait(squares + [gated], count: 50)
            #expect(mixed.ready == squares && mixed.pending == [gated])
            TestGates.open(gate)
            #expect(try await gated.get() == gate)
            #expect(await cluster.wait(squares + [gated]).pending.isEmpty)
        }
    }
}

/// Gates that tests open to let a waiting task finish: no task races a sleep against the test.
enum TestGates {
    private static let state = Mutex<(next: Int, open: Set<Int>)>((0, []))

    /// A new, closed gate.
    static func make() -> Int {
        state.withLock { state in
            state.next += 1
            return state.next
        }
    }

    static func open(_ gate: Int) { state.withLock { _ = $0.open.insert(gate) } }

    /// Waits until `gate` is open; cancellation ends the wait.
    static func wait(_ gate: Int) async throws {
        while !state.withLock({ $0.open.contains(gate) }) { try await Task.sleep(for: .milliseconds(1)) }
    }
}

@Suite("Failures", .timeLimit(.minutes(3)))
struct FailureTests {
    @Test("a thrown error reaches get as a TaskError naming the task, the type and the message", arguments: [false, true])
    func thrown(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let ref = try await cluster.submit(Functions.fail, 7)
            do {
                _ = try await ref.get()
                Issue.record("expected a failure")
            } catch let error as TaskError {
                #expect(error.taskName == "fail")
                #expect(error.errorType.hasSuffix("Boom"))
                #expect(error.message == "boom 7")
            }
        }
    }

    @Test("a failed input fails its dependents with the same error, transitively, without hanging", arguments: [false, true])
    func propagation(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let bad = try await cluster.submit(Functions.fail, 1)
            let child = try await cluster.submit(Functions.add, bad, 1)
            let grandchild = try await cluster.submit(Functions.square, child)
            let gathered = try await cluster.submit(Functions.sum, [child, try await cluster.put(2)].gathered())
            for ref in [child, grandchild, gathered] {
                await #expect(throws: TaskError.self) { try await ref.get() }
            }
            // Submitting against an already failed object fails at once too.
            let late = try await cluster.submit(Functions.square, bad)
            await #expect(throws: TaskError.self) { try await late.get() }
        }
    }

    @Test("retries re-run a task whose thrown errors are declared retryable")
    func retries() async throws {
        try await withCluster(codec: false) { cluster in
            flakyAttempts.count.store(0, ordering: .relaxed)
            let retried = try await cluster.submit(Functions.flaky, 2, options: TaskOptions(maxRetries: 3, retryOnThrownErrors: true))
            #expect(try await retried.get() == 3)
            flakyAttempts.count.store(0, ordering: .relaxed)
            let notRetried = try await cluster.submit(Functions.flaky, 2, options: TaskOptions(maxRetries: 3))
            await #expect(throws: TaskError.self) { try await notRetried.get() }
            flakyAttempts.count.store(0, ordering: .relaxed)
            let exhausted = try await cluster.submit(Functions.flaky, 5, options: TaskOptions(maxRetries: 2, retryOnThrownErrors: true))
            await #expect(throws: TaskError.self) { try await exhausted.get() }
        }
    }

    @Test("a task past its timeout fails with a typed error, even one that ignores cancellation", arguments: [false, true])
    func timeout(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let slow = try await cluster.submit(Functions.sleep, 10_000, options: TaskOptions(timeout: .milliseconds(50)))
            await #expect(throws: ClusterError.timedOut(task: "sleep", seconds: 0.05)) { try await slow.get() }
            let stubborn = try await cluster.submit(Functions.spin, 300, options: TaskOptions(timeout: .milliseconds(30)))
            await #expect(throws: ClusterError.self) { try await stubborn.get() }
            // The worker is usable afterwards.
            #expect(try await cluster.submit(Functions.square, 4).get() == 16)
        }
    }

    @Test("cancelling a ref cancels its running task and its dependents", arguments: [false, true])
    func cancellation(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let slow = try await cluster.submit(Functions.sleep, 10_000)
            let dependent = try await cluster.submit(Functions.add, slow, 1)
            try await Task.sleep(for: .milliseconds(20))
            cluster.cancel(slow)
            await #expect(throws: CancellationError.self) { try await slow.get() }
            await #expect(throws: CancellationError.self) { try await dependent.get() }

            // A task still waiting for its input is cancelled before it starts.
            let blocker = try await cluster.submit(Functions.sleep, 10_000)
            let waiting = try await cluster.submit(Functions.add, blocker, 1)
            cluster.cancel(waiting)
            await #expect(throws: CancellationError.self) { try await waiting.get() }
            cluster.cancel(blocker)
        }
    }

    @Test("unregistered functions and impossible resource requests are typed errors")
    func rejected() async throws {
        try await withCluster(codec: false) { cluster in
            let stranger = RemoteFunction("stranger") { (x: Int) async throws -> Int in x }
            await #expect(throws: ClusterError.notRegistered(name: "stranger")) { try await cluster.submit(stranger, 1) }
            let impostor = RemoteFunction("square") { (x: String) async throws -> String in x }
            await #expect(throws: ClusterError.self) { try await cluster.submit(impostor, "x") }
            await #expect(throws: ClusterError.self) {
                try await cluster.submit(Functions.square, 2, options: TaskOptions(resources: [.cpu: 2]))
            }
            await #expect(throws: ClusterError.self) {
                try await cluster.submit(Functions.square, 2, options: TaskOptions(resources: [.gpu: 1]))
            }
            await #expect(throws: ClusterError.self) {
                try await cluster.submit(Functions.square, 2, options: TaskOptions(placement: .worker(7, strict: true)))
            }
        }
        await #expect(throws: ClusterError.self) {
            _ = try await Cluster.start(.inProcess(workers: 1), registry: Registry().function(Functions.square).function(Functions.square))
        }
        await #expect(throws: ClusterError.self) { _ = try await Cluster.start(.inProcess(workers: 0), registry: Registry()) }
    }

    @Test("shutdown with work in flight fails what did not finish and returns promptly")
    func shutdownInFlight() async throws {
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Functions.registry)
        let running = try await (0..<2).asyncMap { _ in try await cluster.submit(Functions.sleep, 60_000) }
        let queued = try await (0..<10).asyncMap { try await cluster.submit(Functions.square, $0) }
        let started = ContinuousClock.now
        // A grace far longer than cancelling takes: a shutdown that waited for the sleeping tasks
        // instead of cancelling them would take the whole 30 s, however loaded the machine.
        await cluster.shutdown(grace: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(20))
        for ref in running + queued.suffix(5) {
            do {
                _ = try await ref.get()
            } catch {
                #expect(error is ClusterError || error is CancellationError)
            }
        }
        await #expect(throws: ClusterError.shutDown) { try await cluster.submit(Functions.square, 1) }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
