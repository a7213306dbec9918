import ClusterTestSupport
import Foundation
import IONodes
import IORuntime
import IOTensor
import IOTrain
import IOTransportTCP
import Testing

/// A head and node agents in this process, each node with its own folder, as on separate
/// machines: the workers they start are real processes that reach the driver over mutual TLS.
/// Its folder goes with it, also when a test fails before ``close()``.
final class NodeCluster {
    let root: String
    let authority: ClusterAuthority
    let token = ClusterToken.generate()
    let head: HeadNode
    var agents: [String: NodeAgent] = [:]

    init(nodes: [String], cpus: Double = 2, gpus: [String: [Int]] = [:]) async throws {
        root = NSTemporaryDirectory() + "iocompute-hosts-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        authority = try ClusterAuthority.create()
        head = try await HeadNode.start(
            HeadConfiguration(
                credentials: ClusterCredentials(node: try authority.issue(node: "head"), token: token),
                storeDirectory: root + "/head-executables", host: "127.0.0.1", port: 0))
        for node in nodes {
            let folder = root + "/" + node
            try authority.issue(node: node).write(to: folder)
            agents[node] = try await NodeAgent.join(
                head: NodeAddress(host: "127.0.0.1", port: head.port),
                announcement: NodeAnnouncement(
                    name: node, resources: ["cpu": cpus, "gpu": Double(gpus[node]?.count ?? 0)], gpuDevices: gpus[node] ?? []),
                credentials: ClusterCredentials(node: try NodeCredentials.read(from: folder), token: token),
                heartbeatInterval: .milliseconds(200), workers: (try ExecutableStore(directory: folder + "/executables"), folder))
        }
        // The driver's machine: a certificate of its own and the token.
        try authority.issue(node: "laptop").write(to: root + "/laptop")
        try PrivateFile.write(token.hexadecimal, to: root + "/laptop/token")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var address: String { "127.0.0.1:\(head.port)" }

    func configuration(workers: Int, resources: ResourceSet = [.cpu: 1]) -> ClusterConfiguration {
        .connect(
            to: address, workers: workers, stateDirectory: root + "/laptop", resourcesPerWorker: resources,
            heartbeat: HeartbeatPolicy(interval: .milliseconds(200), missedHeartbeats: 5, timeout: .seconds(10)),
            workerExecutable: ClusterProcess.node, workerArguments: ["worker"],
            // A worker that never connects fails the start with its name, inside the tests' time limit.
            startTimeout: .seconds(120))
    }

    func close() async {
        for agent in agents.values { await agent.leave() }
        await head.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }
}

@Suite("jobs on a cluster of machines", .serialized, .timeLimit(.minutes(3)))
struct HostClusterTests {
    typealias F = ClusterTestFunctions

    @Test("a driver gets workers on two nodes over TLS, runs tasks and an actor there, and its workers end with it")
    func jobOnNodes() async throws {
        let nodes = try await NodeCluster(nodes: ["node-b", "node-c"])
        let cluster = try await Cluster.start(nodes.configuration(workers: 2), registry: F.registry)
        // The head put one worker on each node (each has 2 CPUs; the emptier one goes first).
        let jobs = nodes.head.snapshot().jobs
        #expect(jobs.count == 1 && jobs.values.first?.map(\.node).sorted() == ["node-b", "node-c"])
        // Each node fetched the executable once, under its SHA-256.
        let (hash, _) = try ExecutableStore.digest(ofFile: ClusterProcess.node)
        for node in ["node-b", "node-c"] {
            #expect(FileManager.default.isExecutableFile(atPath: nodes.root + "/\(node)/executables/\(hash)"))
        }

        // Each node's heartbeats count the worker it runs.
        while nodes.head.snapshot().nodes.filter({ $0.workers == 1 }).count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        let squares = try await cluster.get(try await (0..<40).asyncMap { try await cluster.submit(F.square, $0) })
        #expect(squares == (0..<40).map { $0 * $0 })
        let spread = TaskOptions(placement: .spread)
        let pids = Set(
            try await cluster.get(try await (0..<8).asyncMap { _ in try await cluster.submit(F.processID, 20, options: spread) }))
        #expect(pids.count == 2 && !pids.contains(Int(getpid())))
        // A worker of one CPU starts one BLAS thread (unless the node agent's environment sets it).
        let blasThreads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"].flatMap { Int($0) } ?? 1
        #expect(try await cluster.get(try await cluster.submit(F.mathThreads, 0))[0] == blasThreads)
        let tally = try await cluster.spawn(TallyActor.self)
        for amount in 1...10 { _ = try await tally.add(amount) }
        #expect(try await tally.add(0) == 55)
        await #expect(throws: (any Error).self) { try await cluster.get(try await cluster.submit(F.fail, "on purpose")) }

        // A tensor put on the driver goes to each node in chunks read from its own buffer.
        let values = try Tensor<Float>(shape: [300_001], scalars: (0..<300_001).map { Float($0 % 1000) })
        let put = try await cluster.put(values)
        let sums = try await cluster.get(try await (0..<4).asyncMap { _ in try await cluster.submit(F.floatSum, put, options: spread) })
        #expect(sums == Array(repeating: values.scalars.reduce(0.0) { $0 + Double($1) }, count: 4))

        // The driver reports its tasks, actors and objects to the head, for `iocompute status`.
        func load() -> JobLoad? { nodes.head.snapshot().loads.values.first }
        while (load()?.tasksFailed ?? 0) < 1 { try await Task.sleep(for: .milliseconds(50)) }
        let reported = try #require(load())
        #expect(reported.tasksFinished >= 48 && reported.tasksRunning == 0 && reported.tasksWaiting == 0)
        #expect(reported.actorsAlive == 1 && reported.actorsRestarting == 0 && reported.workersAlive == 2)
        #expect(reported.objectStoreCapacity > 0 && reported.objects >= 0)

        await cluster.shutdown()
        // The job's end stops its workers on every node.
        while nodes.agents.values.contains(where: { !$0.runningWorkers.isEmpty }) || !nodes.head.snapshot().jobs.isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        await nodes.close()
    }

    @Test("a worker pulls another worker's object straight from it; when that worker hangs, through the driver, which rebuilds it")
    func directPulls() async throws {
        let nodes = try await NodeCluster(nodes: ["node-b", "node-c"])
        // A third worker has room to make the object again while the reader holds its CPU.
        let cluster = try await Cluster.start(nodes.configuration(workers: 3), registry: F.registry)
        let count = 300_000  // 1.2 MB: kept by the worker that made it.
        let expected = Double(count - 1) * Double(count) / 2
        let onWorker0 = TaskOptions(placement: .worker(0, strict: true))
        let onWorker1 = TaskOptions(maxRetries: 0, placement: .worker(1, strict: true))
        let made = try await cluster.submit(F.iota, count, options: onWorker0)
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, made, options: onWorker1)) == expected)
        // It went from worker to worker: the driver never held a copy.
        #expect(await cluster.status().objectStore.bytesInMemory == 0)

        // The holder hangs: the direct pull cannot complete its handshake, so the puller asks the
        // driver, whose pull waits until the holder is declared lost, then makes the object again
        // from its lineage (on the other worker).
        let holder = pid_t(try await cluster.get(try await cluster.submit(F.processID, 0, options: onWorker0)))
        let second = try await cluster.submit(F.iota, count, options: TaskOptions(placement: .worker(0, strict: false)))
        _ = await cluster.wait([second], count: 1, timeout: .seconds(60))
        kill(holder, SIGSTOP)
        defer { kill(holder, SIGKILL) }
        #expect(await ClusterProcess.eventually { ClusterProcess.isStopped(Int(holder)) })
        #expect(try await cluster.get(try await cluster.submit(F.floatSum, second, options: onWorker1)) == expected)
        let workers = await cluster.status().workers
        #expect(!workers[0].isAlive, "worker 0 (process \(holder), stopped: \(ClusterProcess.isStopped(Int(holder)))): \(workers)")
        await cluster.shutdown()
        while nodes.agents.values.contains(where: { !$0.runningWorkers.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        await nodes.close()
    }

    @Test("a worker killed on its node: its tasks run again elsewhere, and the head places a replacement")
    func replaceOnNodes() async throws {
        let nodes = try await NodeCluster(nodes: ["node-b", "node-c"])
        let cluster = try await Cluster.start(nodes.configuration(workers: 2), registry: F.registry)
        let onWorker1 = TaskOptions(maxRetries: 0, placement: .worker(1, strict: true))
        let old = try await cluster.get(try await cluster.submit(F.processID, 0, options: onWorker1))
        kill(pid_t(old), SIGKILL)
        #expect(await ClusterProcess.eventually { await !cluster.status().workers[1].isAlive })
        #expect(try await cluster.get(try await (0..<10).asyncMap { try await cluster.submit(F.square, $0) }) == (0..<10).map { $0 * $0 })
        #expect(try await cluster.replaceLostWorkers() == [1])
        let new = try await cluster.get(try await cluster.submit(F.processID, 0, options: onWorker1))
        #expect(new != old)
        #expect(nodes.head.snapshot().jobs.values.first?.count == 2)
        await cluster.shutdown()
        while nodes.agents.values.contains(where: { !$0.runningWorkers.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        await nodes.close()
    }

    @Test("workers that ask for GPUs go to the node that has them free, each bound to its own devices")
    func gpuBinding() async throws {
        // The devices are announced, not opened: this checks the binding, which a real GPU node
        // (OpenCL devices of kind gpu) announces the same way.
        let nodes = try await NodeCluster(nodes: ["cpu-only", "gpu-node"], gpus: ["gpu-node": [3, 5]])
        let cluster = try await Cluster.start(nodes.configuration(workers: 2, resources: [.cpu: 1, .gpu: 1]), registry: F.registry)
        #expect(nodes.head.snapshot().jobs.values.first?.map(\.node) == ["gpu-node", "gpu-node"])
        var bound: Set<[Int]> = []
        for worker in 0..<2 {
            let pinned = TaskOptions(resources: [.cpu: 1, .gpu: 1], placement: .worker(worker, strict: true))
            bound.insert(try await cluster.get(try await cluster.submit(F.boundDevices, 0, options: pinned)))
        }
        #expect(bound == [[3], [5]])
        #expect(TaskContext.gpuDevices.isEmpty)
        // A third GPU worker finds none free: the start fails with the reason.
        let more = await #expect(throws: ClusterError.self) {
            try await Cluster.start(nodes.configuration(workers: 1, resources: [.gpu: 1]), registry: F.registry)
        }
        #expect(more.map { "\($0)".contains("free GPUs") } == true)
        await cluster.shutdown()
        await nodes.close()
    }

    @Test("collectives between workers on different nodes go over mutual TLS, and allreduce adds up")
    func collectivesAcrossNodes() async throws {
        let nodes = try await NodeCluster(nodes: ["node-b", "node-c"], cpus: 1)
        let cluster = try await Cluster.start(nodes.configuration(workers: 2), registry: F.registry)
        var ranks: [CollectiveRankActor] = []
        for _ in 0..<2 { ranks.append(try await cluster.spawn(CollectiveRankActor.self, options: ActorOptions(resources: [.cpu: 1]))) }
        let joining = ranks
        let members = ranks
        // Without shared memory, as between machines: every byte crosses a TLS connection.
        try await CollectiveGroup.form(size: 2, on: cluster, options: CollectiveGroup.Options(chunkBytes: 64 << 10, sharedMemory: false)) {
            rank, invitation in try await joining[rank].join(invitation)
        }
        for rank in ranks { #expect(try await !rank.sendsThroughSharedMemory()) }
        let inputs = try (0..<2).map { try Tensor<Float>.randomNormal([50_001], seed: UInt64(11 + $0)) }
        let results = try await withThrowingTaskGroup(of: (Int, Tensor<Float>).self) { tasks in
            for rank in 0..<2 {
                tasks.addTask { (rank, try await members[rank].allreduce(inputs[rank], operation: ReduceOperation.sum.rawValue)) }
            }
            return try await tasks.reduce(into: [Int: Tensor<Float>]()) { $0[$1.0] = $1.1 }
        }
        let expected = zip(inputs[0].scalars, inputs[1].scalars).map { $0 + $1 }
        for rank in 0..<2 {
            let worst = zip(results[rank]!.scalars, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-5, "rank \(rank): error \(worst)")
        }
        await cluster.shutdown()
        await nodes.close()
    }

    @Test("data-parallel training on two nodes follows the loss curve of one worker")
    func dataParallelAcrossNodes() async throws {
        let nodes = try await NodeCluster(nodes: ["node-b", "node-c"], cpus: 1)
        let cluster = try await Cluster.start(nodes.configuration(workers: 2), registry: F.registry)
        // One epoch of the digits MLP: 45 steps of a global batch of 32, with the same shuffle.
        let config = DataParallelConfig(epochs: 1, globalBatchSize: 32, shuffleSeed: 3, showsProgress: false)
        let two = try await TrainingFixtures.digitsTrainer.fit(config, workers: 2, on: cluster)
        let one = try await TrainingFixtures.digitsTrainer.fit(config, workers: 1, on: cluster)
        #expect(two.history.losses.count == one.history.losses.count && !one.history.losses.isEmpty)
        // Two ranks averaging their half-batch gradients take the same steps as one rank on the
        // whole batch, up to float rounding.
        let worst = zip(two.history.losses, one.history.losses).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-3, "largest loss difference \(worst)")
        #expect(two.history.steps.allSatisfy { $0.workers == 2 })
        await cluster.shutdown()
        await nodes.close()
    }
}
