import CompareSupport
// The IOCompute half of `compare cluster`: the runtime workloads on a cluster of local worker
// processes (this program re-executed, connected over authenticated loopback TCP), printed as
// `NAME VALUE UNIT` lines with VALUE a throughput (higher is better). `Peers/cluster_ray.py`
// runs the same workloads on Ray.
import Distributed
import Foundation
import IOCompute

distributed actor Accumulator {
    typealias ActorSystem = ClusterActorSystem
    var total = 0
    distributed func add(_ amount: Int) -> Int {
        total += amount
        return total
    }
}

enum Functions {
    static let noop = RemoteFunction("noop") { (x: Int) async throws -> Int in x }
    static let increment = RemoteFunction("increment") { (x: Int) async throws -> Int in x + 1 }
    /// Reads a large tensor in a worker (pulling it there) and returns its element count.
    static let elementCount = RemoteFunction("elementCount") { (tensor: Tensor<Float>) async throws -> Int in tensor.count }
    /// Makes a large tensor in a worker.
    static let makeFloats = RemoteFunction("makeFloats") { (count: Int) async throws -> Tensor<Float> in
        try Tensor<Float>.ones([count])
    }
}

let registry = Registry()
    .function(Functions.noop).function(Functions.increment).function(Functions.elementCount).function(Functions.makeFloats)
    .actor(Accumulator.self) { system in Accumulator(actorSystem: system) }

// Each workload runs twice: from the main actor (rows ending in `@main`) and from a detached task.
for caller in callers() {
    let suffix = rowSuffix(caller)
    if caller == "main" {
        try await runWorkloads(suffix: suffix)
    } else {
        try await Task.detached { try await runWorkloads(suffix: suffix) }.value
    }
}

/// Runs on the caller's executor: the main actor's when top-level code calls it.
nonisolated(nonsending) func runWorkloads(suffix: String) async throws {
    // The `@main` rows must really run on the main actor (a wrong isolation would stop here).
    if suffix == rowSuffix("main") { MainActor.preconditionIsolated("the @main rows run on the main actor") }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    // Worker processes run this program again: `Cluster.start` never returns in them.
    let nodes = CommandLine.arguments.contains("--nodes") ? try await TLSNodes.start(count: cores) : nil
    let hosts = HostsOption.parse()
    let suffix = nodes != nil ? "_nodes" + suffix : hosts != nil ? "_hosts" + suffix : suffix
    let configuration = nodes?.configuration ?? hosts?.configuration ?? .localProcesses(workers: cores)
    let cluster = try await Cluster.start(configuration, registry: registry)
    let workers = configuration.workers
    let noop = Functions.noop

    if wanted("tasks_sync") {
        let count = 2_000
        let seconds = try await bestSeconds {
            for i in 0..<count { keep(try await cluster.submit(noop, i).get()) }
        }
        report("tasks_sync" + suffix, Double(count) / seconds, "tasks/s")
    }

    if wanted("tasks_async") {
        let count = 5_000
        let seconds = try await bestSeconds {
            var refs: [ObjectRef<Int>] = []
            refs.reserveCapacity(count)
            for i in 0..<count { refs.append(try await cluster.submit(noop, i)) }
            keep(try await cluster.get(refs))
        }
        report("tasks_async" + suffix, Double(count) / seconds, "tasks/s")
    }

    if wanted("chain_100") {
        let seconds = try await bestSeconds {
            var ref = try await cluster.put(0)
            for _ in 0..<100 { ref = try await cluster.submit(Functions.increment, ref) }
            keep(try await ref.get())
        }
        report("chain_100" + suffix, 100 / seconds, "tasks/s")
    }

    if wanted("actor_calls_sync") || wanted("actor_calls_async") {
        let accumulator = try await cluster.spawn(Accumulator.self)
        if wanted("actor_calls_sync") {
            let count = 5_000
            let seconds = try await bestSeconds {
                for _ in 0..<count { keep(try await accumulator.add(1)) }
            }
            report("actor_calls_sync" + suffix, Double(count) / seconds, "calls/s")
        }
        if wanted("actor_calls_async") {
            let count = 5_000
            let seconds = try await bestSeconds {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<count { group.addTask { try await accumulator.add(1) } }
                    for try await value in group { keep(value) }
                }
            }
            report("actor_calls_async" + suffix, Double(count) / seconds, "calls/s")
        }
    }

    if wanted("wait_1000") {
        // 1,000 results made by the workers, all ready: the cost of asking whether they are.
        let refs = try await (0..<1_000).asyncMap { try await cluster.submit(noop, $0) }
        keep(try await cluster.get(refs))
        // 20 waits per timing: one is too short to time well.
        let seconds = await bestSeconds { for _ in 0..<20 { keep(await cluster.wait(refs, count: refs.count)) } }
        report("wait_1000" + suffix, 20 / seconds, "waits/s")
    }

    // 100 MiB of Float, as a tensor (a NumPy array on Ray's side).
    let mebibytes100 = 100 << 20
    let floats100 = mebibytes100 / 4
    if wanted("put_to_worker_100MiB") {
        // Put on the driver, read in a worker: the worker maps the driver's shared-memory segment.
        let payload = try Tensor<Float>.ones([floats100])
        let seconds = try await bestSeconds(rounds: 3) {
            let ref = try await cluster.put(payload)
            keep(try await cluster.submit(Functions.elementCount, ref).get())
        }
        report("put_to_worker_100MiB" + suffix, Double(mebibytes100) / seconds / Double(1 << 30), "GiB/s")
    }
    if wanted("get_from_worker_100MiB") {
        // Made in a worker, read on the driver: the driver pulls it.
        var best = Double.infinity
        for _ in 0..<4 {
            let ref = try await cluster.submit(Functions.makeFloats, floats100)
            _ = await cluster.wait([ref])
            let start = DispatchTime.now().uptimeNanoseconds
            keep(try await ref.get())
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        report("get_from_worker_100MiB" + suffix, Double(mebibytes100) / best / Double(1 << 30), "GiB/s")
    }
    if wanted("worker_to_worker_100MiB") && workers >= 2 {
        // Made in worker 0, read in worker 1 (on another node with --nodes and --hosts).
        var best = Double.infinity
        for _ in 0..<3 {
            let ref = try await cluster.submit(Functions.makeFloats, floats100, options: TaskOptions(placement: .worker(0, strict: true)))
            _ = await cluster.wait([ref])
            let start = DispatchTime.now().uptimeNanoseconds
            keep(try await cluster.submit(Functions.elementCount, ref, options: TaskOptions(placement: .worker(1, strict: true))).get())
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        report("worker_to_worker_100MiB" + suffix, Double(mebibytes100) / best / Double(1 << 30), "GiB/s")
    }

    await cluster.shutdown()
    await nodes?.close()
}

/// With `--hosts=HOST:PORT --state=DIR [--workers=N]`: the driver joins a running cluster of
/// machines (`iocompute start --head` and `--join` in network namespaces, as the compare
/// script's `cluster-hosts` suite sets up) with the credentials in `DIR`; its N workers (2 by
/// default) run on the nodes, which fetch this program from the head.
struct HostsOption {
    let configuration: ClusterConfiguration

    static func parse() -> HostsOption? {
        func value(_ name: String) -> String? {
            CommandLine.arguments.first { $0.hasPrefix("--\(name)=") }.map { String($0.dropFirst(name.count + 3)) }
        }
        guard let address = value("hosts"), let state = value("state") else { return nil }
        let workers = value("workers").flatMap(Int.init) ?? 2
        let passed = CommandLine.arguments.filter { $0.hasPrefix("--hosts=") || $0.hasPrefix("--state=") || $0.hasPrefix("--workers=") }
        return HostsOption(
            configuration: .connect(to: address, workers: workers, stateDirectory: state, workerArguments: passed))
    }
}

/// With `--nodes`: a head and `count` node agents in this process, each with one CPU and a folder
/// of its own, as on separate machines; the workers (one per node) reach the driver over mutual
/// TLS 1.3, and objects move between them in checksummed chunks over TLS, not shared memory.
struct TLSNodes {
    let root: String
    let head: HeadNode
    let agents: [NodeAgent]
    let configuration: ClusterConfiguration

    static func start(count: Int) async throws -> TLSNodes? {
        let worker = "--nodes"
        let configuration = { (address: String, state: String) in
            ClusterConfiguration.connect(to: address, workers: count, stateDirectory: state, workerArguments: [worker])
        }
        // In a worker process, the configuration only serves: no head, no nodes.
        if ProcessInfo.processInfo.environment["IOCOMPUTE_WORKER_ID"] != nil {
            _ = try await Cluster.start(configuration("127.0.0.1:1", "/nonexistent"), registry: registry)
            return nil
        }
        let root = NSTemporaryDirectory() + "iocompute-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let authority = try ClusterAuthority.create()
        let token = ClusterToken.generate()
        let head = try await HeadNode.start(
            HeadConfiguration(
                credentials: ClusterCredentials(node: try authority.issue(node: "head"), token: token),
                storeDirectory: root + "/head-executables", host: "127.0.0.1", port: 0))
        var agents: [NodeAgent] = []
        for index in 0..<count {
            let folder = root + "/node-\(index)"
            try authority.issue(node: "node-\(index)").write(to: folder)
            agents.append(
                try await NodeAgent.join(
                    head: NodeAddress(host: "127.0.0.1", port: head.port),
                    announcement: NodeAnnouncement(name: "node-\(index)", resources: ["cpu": 1]),
                    credentials: ClusterCredentials(node: try NodeCredentials.read(from: folder), token: token),
                    workers: (try ExecutableStore(directory: folder + "/executables"), folder)))
        }
        try authority.issue(node: "driver").write(to: root + "/driver")
        try PrivateFile.write(token.hexadecimal, to: root + "/driver/token")
        return TLSNodes(root: root, head: head, agents: agents, configuration: configuration("127.0.0.1:\(head.port)", root + "/driver"))
    }

    func close() async {
        for agent in agents { await agent.leave() }
        await head.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }
}
