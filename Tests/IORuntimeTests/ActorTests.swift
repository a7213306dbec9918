import Distributed
import IORuntime
import Testing

struct Overdrawn: Error, CustomStringConvertible {
    let balance: Int
    var description: String { "overdrawn at \(balance)" }
}

distributed actor Counter {
    typealias ActorSystem = ClusterActorSystem
    var value = 0
    var history: [Int] = []

    distributed func add(_ amount: Int) -> Int {
        value += amount
        history.append(amount)
        return value
    }

    distributed func current() -> Int { value }
    distributed func calls() -> [Int] { history }
    distributed func reset() { value = 0 }

    distributed func withdraw(_ amount: Int) throws -> Int {
        guard value >= amount else { throw Overdrawn(balance: value) }
        value -= amount
        return value
    }

    /// A generic method: its substitution travels with the call.
    distributed func echo<Value: WireSerializable>(_ value: Value) -> Value { value }

    /// Another actor's reference as an argument.
    distributed func absorb(_ other: Counter) async throws -> Int {
        let theirs = try await other.current()
        value += theirs
        return value
    }

    /// Reads an object from the store through a borrowed ref and adds its sum.
    distributed func addAll(_ values: BorrowedRef<[Int]>) async throws -> Int {
        value += try await values.get().reduce(0, +)
        return value
    }

    distributed func addOne(_ amount: BorrowedRef<Int>) async throws -> Int {
        value += try await amount.get()
        return value
    }

    /// Hands a borrowed ref back to the caller.
    distributed func passBack(_ values: BorrowedRef<[Int]>) -> BorrowedRef<[Int]> { values }

    distributed func whereAmI() -> Int { TaskContext.worker ?? ClusterActorSystem.current.map { _ in -2 } ?? -1 }
}

extension Counter: WireSerializable {}

@Resolvable
protocol Greeter: DistributedActor where ActorSystem == ClusterActorSystem {
    distributed func greet(_ name: String) -> String
}

distributed actor FriendlyGreeter: Greeter {
    typealias ActorSystem = ClusterActorSystem
    distributed func greet(_ name: String) -> String { "hello, \(name)" }
}

enum ActorFunctions {
    /// A task that calls an actor it was given.
    static let deposit = RemoteFunction("deposit") { (counter: Counter, amount: Int) async throws -> Int in
        try await counter.add(amount)
    }

    static var registry: Registry {
        Functions.registry.function(deposit)
            .actor(Counter.self) { system in Counter(actorSystem: system) }
            .actor(FriendlyGreeter.self) { system in FriendlyGreeter(actorSystem: system) }
    }
}

func withActorCluster(workers: Int = 2, codec: Bool, _ body: (Cluster) async throws -> Void) async throws {
    try await withCluster(workers: workers, codec: codec, registry: ActorFunctions.registry, body)
}

@Suite("Distributed actors", .timeLimit(.minutes(3)))
struct ActorTests {
    @Test("an actor keeps its state and runs one caller's calls in order", arguments: [false, true])
    func ordering(codec: Bool) async throws {
        try await withActorCluster(codec: codec) { cluster in
            let counter = try await cluster.spawn(Counter.self)
            for amount in 1...100 { _ = try await counter.add(amount) }
            #expect(try await counter.current() == 5050)
            #expect(try await counter.calls() == Array(1...100))
            try await counter.reset()
            #expect(try await counter.current() == 0)
        }
    }

    @Test("a thrown error comes back typed, and the actor keeps working", arguments: [false, true])
    func errors(codec: Bool) async throws {
        try await withActorCluster(codec: codec) { cluster in
            let counter = try await cluster.spawn(Counter.self)
            _ = try await counter.add(5)
            do {
                _ = try await counter.withdraw(10)
                Issue.record("expected a failure")
            } catch let error as Overdrawn {
                #expect(!codec && error.balance == 5)
            } catch let error as TaskError {
                #expect(codec && error.errorType.hasSuffix("Overdrawn") && error.message == "overdrawn at 5")
            }
            #expect(try await counter.withdraw(2) == 3)
        }
    }

    @Test("generic methods and @Resolvable protocol stubs", arguments: [false, true])
    func genericAndResolvable(codec: Bool) async throws {
        try await withActorCluster(codec: codec) { cluster in
            let counter = try await cluster.spawn(Counter.self)
            #expect(try await counter.echo("text") == "text")
            #expect(try await counter.echo([1.5, 2.5]) == [1.5, 2.5])
            let greeter = try await cluster.spawn(FriendlyGreeter.self, options: ActorOptions(name: "greeter"))
            let stub = try $Greeter.resolve(id: greeter.id, using: greeter.actorSystem)
            #expect(try await stub.greet("Ada") == "hello, Ada")
        }
    }

    @Test("actor references pass to tasks and to other actors", arguments: [false, true])
    func references(codec: Bool) async throws {
        try await withActorCluster(codec: codec) { cluster in
            let counter = try await cluster.spawn(Counter.self, options: ActorOptions(placement: .worker(1, strict: true)))
            var refs: [ObjectRef<Int>] = []
            for amount in [10, 20, 30] { refs.append(try await cluster.submit(ActorFunctions.deposit, counter, amount)) }
            _ = try await cluster.get(refs)
            #expect(try await counter.current() == 60)
            let other = try await cluster.spawn(Counter.self, options: ActorOptions(placement: .worker(0, strict: true)))
            _ = try await other.add(7)
            #expect(try await counter.absorb(other) == 67)
        }
    }

    @Test("named actors are found by name; names are unique; killed actors are gone")
    func naming() async throws {
        try await withActorCluster(codec: true) { cluster in
            let counter = try await cluster.spawn(Counter.self, options: ActorOptions(name: "tally"))
            _ = try await counter.add(3)
            let found = try cluster.actor(named: "tally", as: Counter.self)
            #expect(try await found.current() == 3)
            await #expect(throws: ActorError.nameTaken("tally")) {
                try await cluster.spawn(Counter.self, options: ActorOptions(name: "tally"))
            }
            #expect(throws: ActorError.nameNotFound("nobody")) { try cluster.actor(named: "nobody", as: Counter.self) }
            cluster.kill(counter)
            await #expect(throws: ActorError.self) { try await counter.current() }
        }
    }

    @Test("actors hold their resources; unregistered types and no room are typed errors")
    func placement() async throws {
        try await withActorCluster(workers: 1, codec: false) { cluster in
            let holder = try await cluster.spawn(Counter.self, options: ActorOptions(resources: [.cpu: 1]))
            await #expect(throws: ClusterError.self) {
                try await cluster.spawn(Counter.self, options: ActorOptions(resources: [.cpu: 1]))
            }
            cluster.kill(holder)
            let square = try await cluster.submit(Functions.square, 9)
            #expect(try await square.get() == 81)
            _ = try await cluster.spawn(Counter.self, options: ActorOptions(resources: [.cpu: 1]))
        }
        let bare = try await Cluster.start(.inProcess(workers: 1), registry: Registry())
        await #expect(throws: ClusterError.self) { try await bare.spawn(Counter.self) }
        await bare.shutdown()
    }
}

@Suite("Borrowed refs in actor calls", .timeLimit(.minutes(2)))
struct BorrowedRefTests {
    @Test("an actor reads an object through a borrowed ref, and hands the ref back", arguments: [false, true])
    func actorReadsBorrowedRef(codec: Bool) async throws {
        try await withActorCluster(codec: codec) { cluster in
            let counter = try await cluster.spawn(Counter.self)
            let values = try await cluster.put(Array(1...100))
            #expect(try await counter.addAll(values.borrowed) == 5050)
            // A task's result, borrowed before the task has finished: the actor waits for it.
            let pending = try await cluster.submit(Functions.sleep, 50)
            #expect(try await counter.addOne(pending.borrowed) == 5050 + 50)
            // A ref that comes back is a ref of this cluster: it reads, and it keeps the object.
            let back = try await counter.passBack(values.borrowed)
            #expect(back.id == values.id)
            #expect(try await back.get().count == 100)
        }
    }

    @Test("a ref decoded with the codec counts like any other: the object lives while it does")
    func decodedRefKeepsObject() async throws {
        try await withActorCluster(codec: true) { cluster in
            let counter = try await cluster.spawn(Counter.self)
            let before = await cluster.status().objectStore.objects
            var back: BorrowedRef<[Int]>?
            do {
                let values = try await cluster.put([1, 2, 3])
                back = try await counter.passBack(values.borrowed)
            }
            #expect(await cluster.status().objectStore.objects == before + 1)
            #expect(try await back?.get() == [1, 2, 3])
            back = nil
            #expect(await cluster.status().objectStore.objects == before)
        }
    }

    @Test("a borrowed ref decoded outside an actor call or task is a wire error")
    func decodingOutsideACall() async throws {
        try await withActorCluster(codec: false) { cluster in
            let values = try await cluster.put([1])
            var encoder = WireEncoder()
            values.borrowed.encode(to: &encoder)
            var decoder = WireDecoder(encoder.bytes)
            #expect(throws: WireError.self) { _ = try BorrowedRef<[Int]>(from: &decoder) }
        }
    }
}
