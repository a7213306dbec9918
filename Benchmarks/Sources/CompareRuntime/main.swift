import CompareSupport
// The IOCompute half of `compare runtime`: the runtime workloads on an in-process cluster, printed
// as `NAME VALUE UNIT` lines with VALUE a throughput (higher is better). `Peers/runtime_ray.py`
// runs the same workloads on Ray.
import Distributed
import Foundation
import IOCompute

/// The actor the actor-call workloads use.
distributed actor Accumulator {
    typealias ActorSystem = ClusterActorSystem
    var total = 0
    distributed func add(_ amount: Int) -> Int {
        total += amount
        return total
    }
}

/// The registered functions, as statics (initialized once, thread-safely) rather than top-level
/// variables of `main.swift`, which belong to the main actor.
enum Functions {
    static let noop = RemoteFunction("noop") { (x: Int) async throws -> Int in x }
    static let increment = RemoteFunction("increment") { (x: Int) async throws -> Int in x + 1 }
}

// Each workload runs twice: from the main actor, as a `@main` program or top-level code calls the
// runtime (rows ending in `@main`), and from a detached task, as a server's request handlers do.
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
    let noop = Functions.noop
    let increment = Functions.increment
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let registry = Registry().function(noop).function(increment)
        .actor(Accumulator.self) { system in Accumulator(actorSystem: system) }
    let cluster = try await Cluster.start(.inProcess(workers: cores), registry: registry)

    if wanted("tasks_sync") {
        let count = 2_000
        let seconds = try await bestSeconds {
            for i in 0..<count { keep(try await cluster.submit(noop, i).get()) }
        }
        report("tasks_sync" + suffix, Double(count) / seconds, "tasks/s")
    }

    if wanted("tasks_async") {
        let count = 1_000
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
            for _ in 0..<100 { ref = try await cluster.submit(increment, ref) }
            keep(try await ref.get())
        }
        report("chain_100" + suffix, 100 / seconds, "tasks/s")
    }

    if wanted("actor_calls_sync") || wanted("actor_calls_async") {
        let accumulator = try await cluster.spawn(Accumulator.self)
        if wanted("actor_calls_sync") {
            let count = 20_000
            let seconds = try await bestSeconds {
                for _ in 0..<count { keep(try await accumulator.add(1)) }
            }
            report("actor_calls_sync" + suffix, Double(count) / seconds, "calls/s")
        }
        if wanted("actor_calls_async") {
            let count = 1_000
            let seconds = try await bestSeconds {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<count { group.addTask { try await accumulator.add(1) } }
                    for try await value in group { keep(value) }
                }
            }
            report("actor_calls_async" + suffix, Double(count) / seconds, "calls/s")
        }
    }

    if wanted("actor_calls_sync_codec") {
        // The same calls through proxies, the wire codec and the in-process transport: the path a
        // multi-process cluster takes, minus the sockets. Ray has no such mode; its figure is the
        // same workload's.
        let codecCluster = try await Cluster.start(.inProcess(workers: cores, routesThroughCodec: true), registry: registry)
        let accumulator = try await codecCluster.spawn(Accumulator.self)
        let count = 5_000
        let seconds = try await bestSeconds {
            for _ in 0..<count { keep(try await accumulator.add(1)) }
        }
        report("actor_calls_sync_codec" + suffix, Double(count) / seconds, "calls/s")
        await codecCluster.shutdown()
    }

    let mebibytes100 = 100 << 20
    if wanted("put_100MiB") || wanted("get_100MiB") {
        let payload = [UInt8](repeating: 1, count: mebibytes100)
        if wanted("put_100MiB") {
            let seconds = try await bestSeconds { keep(try await cluster.put(payload)) }
            report("put_100MiB" + suffix, Double(mebibytes100) / seconds / Double(1 << 30), "GiB/s")
        }
        if wanted("get_100MiB") {
            let ref = try await cluster.put(payload)
            let seconds = try await bestSeconds { keep(try await ref.get()) }
            report("get_100MiB" + suffix, Double(mebibytes100) / seconds / Double(1 << 30), "GiB/s")
        }
    }

    if wanted("get_small") {
        let ref = try await cluster.put(42)
        let count = 10_000
        let seconds = try await bestSeconds {
            for _ in 0..<count { keep(try await ref.get()) }
        }
        report("get_small" + suffix, Double(count) / seconds, "gets/s")
    }

    if wanted("wait_1000") {
        let refs = try await (0..<1_000).asyncMap { try await cluster.put($0) }
        // 20 waits per timing: one is too short to time well.
        let seconds = await bestSeconds { for _ in 0..<20 { keep(await cluster.wait(refs, count: refs.count)) } }
        report("wait_1000" + suffix, 20 / seconds, "waits/s")
    }

    await cluster.shutdown()
}
