import Distributed
import IOFederated
import IORL
import IORuntime
import IORuntimeTensor
import IOTensor
import IOTrain
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The functions and actors of the multi-process tests. The test runner (the driver) and the
/// `ClusterTestNode` worker executable build the same registry from here.
public enum ClusterTestFunctions {
    public static let square = RemoteFunction("square") { (x: Int) async throws -> Int in x * x }
    /// The GPUs the worker running it holds (see `TaskContext.gpuDevices`).
    public static let boundDevices = RemoteFunction("boundDevices") { (_: Int) async throws -> [Int] in TaskContext.gpuDevices }

    /// Squares after sleeping `milliseconds`, so that a job lasts long enough to lose a worker in.
    public static let slowSquare = RemoteFunction("slowSquare") { (x: Int, milliseconds: Int) async throws -> Int in
        try await Task.sleep(for: .milliseconds(milliseconds))
        return x * x
    }

    /// The process a task runs in.
    /// How many copies of objects pulled from other processes this worker process keeps.
    public static let pulledCopies = RemoteFunction("pulledCopies") { (_: Int) async throws -> Int in
        WorkerObjectStore.pulledCopiesInProcess
    }
    public static let processID = RemoteFunction("processID") { (delay: Int) async throws -> Int in
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        return Int(getpid())
    }

    /// The worker's `OPENBLAS_NUM_THREADS` and `OMP_NUM_THREADS` (-1 when unset), and the thread
    /// count OpenBLAS took from them (-1 when the BLAS is not OpenBLAS).
    public static let mathThreads = RemoteFunction("mathThreads") { (_: Int) async throws -> [Int] in
        func variable(_ name: String) -> Int { getenv(name).flatMap { Int(String(cString: $0)) } ?? -1 }
        typealias GetThreads = @convention(c) () -> Int32
        let openBLAS = dlopen(nil, RTLD_NOW).flatMap { dlsym($0, "openblas_get_num_threads") }
        let threads = openBLAS.map { Int(unsafeBitCast($0, to: GetThreads.self)()) } ?? -1
        return [variable("OPENBLAS_NUM_THREADS"), variable("OMP_NUM_THREADS"), threads]
    }

    public static let fail = RemoteFunction("fail") { (message: String) async throws -> Int in
        throw TestFailure(message: message)
    }

    /// Prints a line (to check that worker output reaches the driver) and returns it.
    public static let shout = RemoteFunction("shout") { (text: String) async throws -> String in
        print("shout: \(text)")
        return text
    }

    /// Sums a tensor, the worker's side of moving a tensor to a worker.
    public static let tensorSum = RemoteFunction("tensorSum") { (tensor: Tensor<Double>) async throws -> Double in
        tensor.sum().scalar
    }

    /// Makes a tensor of `count` values `0, 1, 2, …` on the worker.
    public static let iota = RemoteFunction("iota") { (count: Int) async throws -> Tensor<Float> in
        try Tensor<Float>(shape: [count], scalars: (0..<count).map(Float.init))
    }

    /// Sums a float tensor (made by `iota` on some worker).
    public static let floatSum = RemoteFunction("floatSum") { (tensor: Tensor<Float>) async throws -> Double in
        tensor.scalars.reduce(0.0) { $0 + Double($1) }
    }

    /// Negates its input in place and returns the new sum: objects are immutable, so the write
    /// must land in a private copy, never in the object (or the shared memory it came in).
    public static let negateSum = RemoteFunction("negateSum") { (tensor: Tensor<Float>) async throws -> Double in
        var tensor = tensor
        tensor.withUnsafeMutableBufferPointer { elements in
            for index in elements.indices { elements[index] = -elements[index] }
        }
        return tensor.scalars.reduce(0.0) { $0 + Double($1) }
    }

    /// What the worker's open descriptors point to (`readlink` of each in `/proc/self/fd`).
    public static let openFiles = RemoteFunction("openFiles") { (_: Int) async throws -> [String] in
        guard let folder = opendir("/proc/self/fd") else { throw TestFailure(message: "cannot list /proc/self/fd") }
        defer { closedir(folder) }
        var targets: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int(name) != nil else { continue }
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
            if count > 0 { targets.append(String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        }
        return targets
    }

    /// Runs until cancelled.
    public static let spin = RemoteFunction("spin") { (seconds: Int) async throws -> Int in
        try await Task.sleep(for: .seconds(seconds))
        return seconds
    }

    /// Sums a float tensor and says which worker did.
    public static let sumAndWorker = RemoteFunction("sumAndWorker") { (tensor: Tensor<Float>) async throws -> [Double] in
        [tensor.scalars.reduce(0.0) { $0 + Double($1) }, Double(TaskContext.worker ?? -1)]
    }

    /// Calls an actor it is given, from a worker.
    public static let bump = RemoteFunction("bump") { (counter: TallyActor, amount: Int) async throws -> Int in
        try await counter.add(amount)
    }

    public static var registry: Registry {
        Registry()
            .function(square).function(slowSquare).function(processID).function(pulledCopies).function(fail).function(shout)
            .function(tensorSum).function(iota).function(floatSum).function(spin).function(bump)
            .function(negateSum).function(boundDevices).function(openFiles).function(mathThreads)
            .actor(TallyActor.self) { system in TallyActor(actorSystem: system) }
            .actor(CollectiveRankActor.self) { system in CollectiveRankActor(actorSystem: system) }
            .actor(WeightsActor.self, arguments: Tensor<Float>.self) { system, weights in
                WeightsActor(actorSystem: system, weights: weights)
            }
            .dataParallel(TrainingFixtures.digitsTrainer).trainingLoop(TrainingFixtures.averages)
            .pipeline(TrainingFixtures.digitsPipeline)
            .trainable(TuneFixtures.curve).trainable(TuneFixtures.waitsOnce)
            .environmentRunners()
            .federatedClients(FederatedFixtures.catalog).function(FederatedFixtures.loadBlobs).function(sumAndWorker)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "test failure: \(message)" }
}

/// A counter that also says which process it lives in.
public distributed actor TallyActor {
    public typealias ActorSystem = ClusterActorSystem
    var value = 0

    public distributed func add(_ amount: Int) -> Int {
        value += amount
        return value
    }

    /// Adds after a pause, so that a call can be in flight when the worker dies.
    public distributed func slowAdd(_ amount: Int, milliseconds: Int) async throws -> Int {
        try await Task.sleep(for: .milliseconds(milliseconds))
        value += amount
        return value
    }

    public distributed func processID() -> Int { Int(getpid()) }

    /// A borrowed ref this actor keeps past the call that brought it.
    var kept: BorrowedRef<Tensor<Float>>?

    /// Reads a tensor from the object store and sums it.
    public distributed func sum(_ tensor: BorrowedRef<Tensor<Float>>) async throws -> Double {
        try await tensor.get().scalars.reduce(0.0) { $0 + Double($1) }
    }

    /// Keeps `tensor`'s ref without reading it.
    public distributed func keep(_ tensor: BorrowedRef<Tensor<Float>>) { kept = tensor }

    /// Sums the kept ref's tensor, read now.
    public distributed func sumKept() async throws -> Double {
        guard let kept else { throw TestFailure(message: "nothing kept") }
        return try await sum(kept)
    }

    /// Holds its thread for `milliseconds` (as a blocking method does), then names that thread.
    public distributed func nap(milliseconds: Int) -> String {
        if milliseconds > 0 { usleep(UInt32(milliseconds * 1000)) }
        let thread = pthread_self()
        if let name = threadNames.withLock({ $0[thread] }) { return name }
        let descriptor = open("/proc/thread-self/comm", O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &bytes, bytes.count)
        let name = String(decoding: bytes.prefix(max(count, 0)).filter { $0 != 10 }, as: UTF8.self)
        threadNames.withLock { $0[thread] = name }
        return name
    }
}

extension TallyActor: WireSerializable {}

/// An actor built from a tensor (a model's weights, say), whose calls may overlap.
public distributed actor WeightsActor {
    public typealias ActorSystem = ClusterActorSystem
    let weights: Tensor<Float>
    var waiting: [CheckedContinuation<Void, Never>] = []

    public init(actorSystem: ClusterActorSystem, weights: Tensor<Float>) {
        self.actorSystem = actorSystem
        self.weights = weights
    }

    public distributed func sum() -> Double { weights.scalars.reduce(0.0) { $0 + Double($1) } }

    /// Each row's dot product with the weights, after a pause (a model's forward pass).
    public distributed func dot(_ rows: [[Float]], milliseconds: Int) async throws -> [Float] {
        if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
        let weights = weights.scalars
        return try rows.map { row in
            guard row.count == weights.count else { throw TestFailure(message: "a row of \(row.count) for \(weights.count) weights") }
            return zip(row, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    public distributed func processID() -> Int { Int(getpid()) }

    /// Returns once `parties` calls are inside at once.
    public distributed func meet(_ parties: Int) async {
        if waiting.count + 1 >= parties {
            for continuation in waiting { continuation.resume() }
            waiting = []
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
    }
}

/// A rank of a collective group, living in a worker process.
public distributed actor CollectiveRankActor {
    public typealias ActorSystem = ClusterActorSystem
    var group: CollectiveGroup?

    public distributed func join(_ invitation: CollectiveInvitation) async throws {
        group = try await CollectiveGroup.join(invitation)
    }

    /// `operation` is a ``ReduceOperation`` raw value.
    public distributed func allreduce(_ tensor: Tensor<Float>, operation: UInt8) async throws -> Tensor<Float> {
        guard let operation = ReduceOperation(rawValue: operation) else { throw TestFailure(message: "operation \(operation)") }
        return try await joined().allreduce(tensor, operation)
    }

    public distributed func allgather(_ tensor: Tensor<Float>) async throws -> Tensor<Float> { try await joined().allgather(tensor) }

    public distributed func broadcast(_ tensor: Tensor<Float>, root: Int) async throws -> Tensor<Float> {
        try await joined().broadcast(tensor, from: root)
    }

    public distributed func barrier() async throws { try await joined().barrier() }

    public distributed func sendsThroughSharedMemory() throws -> Bool { try joined().sendsThroughSharedMemory }

    public distributed func processID() -> Int { Int(getpid()) }

    private func joined() throws -> CollectiveGroup {
        guard let group else { throw TestFailure(message: "this rank has not joined a group") }
        return group
    }
}

/// The names of the threads ``TallyActor/nap(milliseconds:)`` ran on, by thread ID: reading one
/// costs three system calls, too slow for a method meant to be short.
private let threadNames = Mutex<[pthread_t: String]>([:])
