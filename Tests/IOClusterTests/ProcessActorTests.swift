import ClusterTestSupport
import Foundation
import IORuntime
import IOTensor
import IOTransportTCP
import Testing

@Suite("actors in worker processes", .serialized, .timeLimit(.minutes(5)))
struct ProcessActorTests {
    typealias F = ClusterTestFunctions

    @Test("an actor lives in a worker process; calls from the driver and from tasks reach it in order")
    func actorInWorker() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let tally = try await cluster.spawn(TallyActor.self, options: ActorOptions(name: "tally"))
        let pid = try await tally.processID()
        #expect(pid != Int(getpid()))
        for amount in 1...20 { _ = try await tally.add(amount) }
        #expect(try await tally.add(0) == 210)
        // A task on a worker calls the actor through its reference (routed by the driver).
        let bumped = try await cluster.get(try await (0..<10).asyncMap { _ in try await cluster.submit(F.bump, tally, 1) })
        #expect(Set(bumped).count == 10 && bumped.max() == 220)
        let named = try cluster.actor(named: "tally", as: TallyActor.self)
        #expect(try await named.add(0) == 220)
        cluster.kill(tally)
        await #expect(throws: (any Error).self) { try await named.add(1) }
        await cluster.shutdown()
    }

    @Test("short calls move to the thread of the driver's connection, in order; a call that blocks sends its method back")
    func inlineCalls() async throws {
        // A debug build's calls on the pool take 100-150 µs here, around the default limit: the
        // worker lets methods under 2 ms run inline (a nap of 15 ms is still evicted).
        let cluster = try await ClusterProcess.start(workers: 1, workerArguments: ["worker", "2000"])
        let tally = try await cluster.spawn(TallyActor.self)
        // NIO names its event-loop threads "NIO-…"; the first calls of a method run on the pool.
        #expect(try await !tally.nap(milliseconds: 0).hasPrefix("NIO-"))
        var calls = 1
        func napUntilInline() async throws {
            while try await !tally.nap(milliseconds: 0).hasPrefix("NIO-") {
                calls += 1
                try #require(calls < 5_000, "a short method never moved to the connection's thread")
            }
        }
        try await napUntilInline()
        // Calls keep their order across the move.
        for expected in 1...100 { #expect(try await tally.add(1) == expected) }
        // A call judged short runs inline but blocks: its method goes back to the pool for good.
        // (On a busy machine a preempted call can lift the method's mean over the limit just
        // before; the blocking call then runs on the pool, and the method earns its place again.)
        try await napUntilInline()
        while try await !tally.nap(milliseconds: 15).hasPrefix("NIO-") { try await napUntilInline() }
        for _ in 0..<20 { #expect(try await !tally.nap(milliseconds: 0).hasPrefix("NIO-")) }
        #expect(try await tally.add(0) == 100)
        await cluster.shutdown()
    }

    @Test("an actor whose worker is killed mid-call: the call fails typed, the actor restarts elsewhere")
    func actorRestartsAfterWorkerLoss() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let tally = try await cluster.spawn(TallyActor.self, options: ActorOptions(maxRestarts: 1))
        let first = try await tally.processID()
        _ = try await tally.add(5)
        let inFlight = Task { try await tally.slowAdd(1, milliseconds: 5_000) }
        try await Task.sleep(for: .milliseconds(200))
        kill(pid_t(first), SIGKILL)
        await #expect {
            try await inFlight.value
        } throws: { error in
            if case .callInterrupted = error as? ActorError { return true }
            return false
        }
        // Restarted on the other worker with fresh state.
        #expect(await ClusterProcess.eventually { (try? await tally.add(0)) == 0 })
        let second = try await tally.processID()
        #expect(second != first)
        #expect(try await tally.add(7) == 7)

        // Its restart budget is spent: losing the second worker kills it for good.
        kill(pid_t(second), SIGKILL)
        #expect(
            await ClusterProcess.eventually {
                do {
                    _ = try await tally.add(1)
                    return false
                } catch {
                    if case .actorDied = error as? ActorError { return true }
                    return false
                }
            })
        await cluster.shutdown()
    }

    @Test("actors built from objects in the store: fetched by their workers, built from the same ones on restart")
    func actorsFromObjects() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let count = 300_000  // 1.2 MB: too large to travel inline, so the worker pulls it
        let expected = Double(count) * Double(count - 1) / 2
        let weights = try await cluster.put(try Tensor<Float>(shape: [count], scalars: (0..<count).map(Float.init)))
        let first = try await cluster.spawn(
            WeightsActor.self, with: weights, options: ActorOptions(placement: .worker(0, strict: false), maxRestarts: 1))
        let second = try await cluster.spawn(WeightsActor.self, with: weights, options: ActorOptions(placement: .worker(1, strict: true)))
        #expect(try await first.sum() == expected)
        #expect(try await second.sum() == expected)
        // From a task's result, which stays on the worker that made it until someone pulls it.
        let made = try await cluster.submit(F.iota, count)
        let third = try await cluster.spawn(WeightsActor.self, with: made, options: ActorOptions(maxConcurrency: 2))
        #expect(try await third.sum() == expected)
        // Two calls that can only return together: the limit of 2 lets them overlap.
        async let one: Void = third.meet(2)
        async let two: Void = third.meet(2)
        _ = try await (one, two)

        // The first actor's worker dies; it is rebuilt on the other from the same object.
        let pid = try await first.processID()
        kill(pid_t(pid), SIGKILL)
        #expect(await ClusterProcess.eventually { (try? await first.sum()) == expected })
        #expect(try await first.processID() != pid)
        await #expect(throws: ClusterError.self) { _ = try await cluster.spawn(WeightsActor.self, with: 3) }
        await cluster.shutdown()
    }

    @Test("calls in flight are sent again after the restart when the actor asks for it")
    func callsRetriedAfterRestart() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let tally = try await cluster.spawn(TallyActor.self, options: ActorOptions(maxRestarts: 2, retriesCallsAfterRestart: true))
        let pid = try await tally.processID()
        let inFlight = Task { try await tally.slowAdd(3, milliseconds: 1_000) }
        try await Task.sleep(for: .milliseconds(200))
        kill(pid_t(pid), SIGKILL)
        #expect(try await inFlight.value == 3)
        #expect(try await tally.processID() != pid)
        await cluster.shutdown()
    }
}

@Suite("the driver of worker processes under attack", .serialized, .timeLimit(.minutes(5)))
struct DriverAttackTests {
    @Test("peers with a wrong token, random bytes, an oversized frame or silence are dropped; the cluster keeps working")
    func hostilePeers() async throws {
        let cluster = try await Cluster.start(
            .localProcesses(
                workers: 2, workerExecutable: ClusterProcess.node, workerArguments: ["worker"],
                transport: TCPTransport.Configuration(handshakeTimeout: .seconds(10))),
            registry: ClusterTestFunctions.registry)
        let address = try #require(cluster.driverAddress)
        let port = try #require(Int(address.split(separator: ":").last ?? ""))

        // A peer that knows the protocol but not the token.
        let impostor = TCPTransport(localPeer: PeerID(1), token: ClusterToken.generate())
        await #expect(throws: (any Error).self) { try await impostor.connect(host: "127.0.0.1", port: port) }
        await impostor.shutdown()

        // Random bytes, an oversized frame, and a connection that says nothing.
        var generator = SystemRandomNumberGenerator()
        let noise = try RawPeer(port: port)
        noise.send((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let oversized = try RawPeer(port: port)
        oversized.send(withUnsafeBytes(of: UInt32(1 << 30).littleEndian) { Array($0) } + [UInt8](repeating: 7, count: 1024))
        let silent = try RawPeer(port: port)
        for peer in [noise, oversized, silent] {
            #expect(await peer.closedByPeer())
            peer.close()
        }

        // The driver's own hello echoed back; a hello in the name of worker-1, which is connected;
        // and one in the name of a worker this cluster does not have.
        let echo = try RawPeer(port: port)
        echo.send(framed(try #require(await echo.readFrame())))
        for claimed in [UInt32(1), 9] {
            let claimant = try RawPeer(port: port)
            _ = await claimant.readFrame()
            claimant.send(
                framed(
                    Array("IOCP".utf8) + [2, 0] + withUnsafeBytes(of: claimed.littleEndian, Array.init) + [UInt8](repeating: 3, count: 32)))
            #expect(await claimant.closedByPeer())
            claimant.close()
        }
        #expect(await echo.closedByPeer())
        echo.close()

        let squares = try await cluster.get(try await (0..<50).asyncMap { try await cluster.submit(ClusterTestFunctions.square, $0) })
        #expect(squares == (0..<50).map { $0 * $0 })
        #expect((await cluster.status()).workers.allSatisfy(\.isAlive))
        await cluster.shutdown()
    }
}

@Suite("borrowed refs in calls to actors in worker processes", .serialized, .timeLimit(.minutes(3)))
struct BorrowedRefProcessTests {
    typealias F = ClusterTestFunctions

    @Test("an actor in a worker process reads a put object, a task's result and a pending one through borrowed refs")
    func actorReadsBorrowedRefs() async throws {
        let cluster = try await ClusterProcess.start(workers: 2)
        let tallies = [
            try await cluster.spawn(TallyActor.self, options: ActorOptions(placement: .spread)),
            try await cluster.spawn(TallyActor.self, options: ActorOptions(placement: .spread)),
        ]
        // 4 MiB: past the inline limit, so it is read from the store (in shared memory here).
        let count = 1 << 20
        let put = try await cluster.put(try Tensor<Float>(shape: [count], scalars: (0..<count).map { Float($0 % 1000) }))
        let expected = (0..<count).reduce(0.0) { $0 + Double($1 % 1000) }
        for tally in tallies {
            #expect(try await tally.processID() != Int(getpid()))
            #expect(try await tally.sum(put.borrowed) == expected)
            #expect(try await tally.sum(put.borrowed) == expected)
        }
        // A result kept by the worker that made it, and one not waited for (its task may still run).
        let made = try await cluster.submit(F.iota, 1000)
        _ = try await made.get()
        #expect(try await tallies[0].sum(made.borrowed) == 499_500)
        let slow = try await cluster.submit(F.iota, 2000)
        #expect(try await tallies[1].sum(slow.borrowed) == 1_999_000)
        await cluster.shutdown()
    }

    @Test("a borrowed ref kept past its call: once the caller drops the object, reading it is a typed error")
    func keptRefOutlivesItsObject() async throws {
        let cluster = try await ClusterProcess.start(workers: 1)
        let tally = try await cluster.spawn(TallyActor.self)
        let before = await cluster.status().objectStore.objects
        do {
            let put = try await cluster.put(try Tensor<Float>(shape: [3], scalars: [1, 2, 3]))
            try await tally.keep(put.borrowed)
            #expect(try await tally.sumKept() == 6)
        }
        // The status drains released handles: the object is gone once the ref above is.
        var polls = 0
        while await cluster.status().objectStore.objects > before {
            polls += 1
            try #require(polls < 10_000, "the dropped object was never freed")
            try await Task.sleep(for: .milliseconds(1))
        }
        do {
            _ = try await tally.sumKept()
            Issue.record("a freed object was read")
        } catch {
            #expect("\(error)".contains("no longer exists"), "\(error)")
        }
        // The actor is still fine.
        #expect(try await tally.add(1) == 1)
        await cluster.shutdown()
    }
}
