import Distributed
import IORuntime
import Synchronization
import Testing

@testable import IORuntime

/// An actor whose method waits for a test gate.
distributed actor Doorman {
    typealias ActorSystem = ClusterActorSystem

    distributed func admit(_ gate: Int) async throws -> Int {
        try await TestGates.wait(gate)
        return gate
    }
}

@Suite("Cancellation frees every wait", .timeLimit(.minutes(3)))
struct CancellationTests {
    @Test("a OneShot delivers its result once, whether it comes before or after the wait")
    func oneShotDelivers() async throws {
        let early = OneShot<Int>()
        #expect(early.resume(returning: 1))
        #expect(!early.resume(returning: 2), "a second result is refused")
        #expect(try await early.value() == 1)
        let late = OneShot<Int>()
        let waiter = Task { try await late.value() }
        while !Task.isCancelled && late.isResolved { await Task.yield() }
        #expect(late.resume(returning: 3))
        #expect(try await waiter.value == 3)
    }

    @Test("cancelling a OneShot's waiter frees it with CancellationError and refuses a later result")
    func oneShotCancelled() async throws {
        let shot = OneShot<Int>()
        let forgotten = Atomic<Int>(0)
        let waiter = Task { try await shot.value { forgotten.add(1, ordering: .relaxed) } }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(forgotten.load(ordering: .relaxed) == 1, "the owner is told once, so it can forget the waiter")
        #expect(!shot.resume(returning: 5), "the owner learns the value was not delivered")
        // A task cancelled before it waits does not park at all.
        let before = OneShot<Int>()
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await before.value()
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }

    @Test("a get waiting for a pending object is freed by cancellation; the object is still delivered later", arguments: [false, true])
    func cancelledGet(codec: Bool) async throws {
        try await withCluster(codec: codec) { cluster in
            let gate = TestGates.make()
            let ref = try await cluster.submit(Functions.gated, gate)
            let getter = Task { try await ref.get() }
            await Task.yield()
            getter.cancel()
            await #expect(throws: CancellationError.self) { try await getter.value }
            TestGates.open(gate)
            #expect(try await ref.get() == gate)
        }
    }

    @Test("an actor call waiting for its reply is freed by cancellation; the actor goes on serving", arguments: [false, true])
    func cancelledActorCall(codec: Bool) async throws {
        let registry = Functions.registry.actor(Doorman.self) { system in Doorman(actorSystem: system) }
        try await withCluster(codec: codec, registry: registry) { cluster in
            let doorman = try await cluster.spawn(Doorman.self)
            let closed = TestGates.make()
            let call = Task { try await doorman.admit(closed) }
            await Task.yield()
            call.cancel()
            await #expect(throws: CancellationError.self) { try await call.value }
            // Through the codec the method itself runs on (an actor serves one call at a time):
            // once it ends, the actor takes the next call.
            TestGates.open(closed)
            let open = TestGates.make()
            TestGates.open(open)
            #expect(try await doorman.admit(open) == open)
        }
    }
}

@Suite("Reports from the wrong worker", .timeLimit(.minutes(3)))
struct ForgedReportTests {
    @Test("a completion from a worker the task was not sent to is ignored; the real one settles it")
    func completionFromAnotherWorker() async throws {
        try await withCluster(workers: 2, codec: true) { cluster in
            let gate = TestGates.make()
            let ref = try await cluster.submit(Functions.gated, gate, options: TaskOptions(placement: .worker(0, strict: true)))
            var running: (id: UInt64, attempt: Int)?
            while running == nil {
                running = cluster.core.state.withLock { state in
                    state.tasks.values.first { if case .running(0) = $0.phase { true } else { false } }.map { ($0.id, $0.attempt) }
                }
                if running == nil { try await Task.sleep(for: .milliseconds(2)) }
            }
            let task = try #require(running)
            // Worker 1 claims the task worker 0 runs, with a value of its choosing.
            let forged = TaskCompletion(taskID: task.id, attempt: task.attempt, worker: 0, outcome: .success(.value(-1)))
            cluster.core.complete(forged, from: 1)
            #expect(!ref.isSettled, "the forged report settled nothing")
            TestGates.open(gate)
            #expect(try await ref.get() == gate)
        }
    }
}
