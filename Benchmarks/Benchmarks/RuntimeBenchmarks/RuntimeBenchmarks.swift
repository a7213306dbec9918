import Benchmark
import IOCompute

enum RuntimeFunctions {
    static let noop = RemoteFunction("noop") { (x: Int) async throws -> Int in x }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], scalingFactor: .kilo, maxDuration: .seconds(3))

    // Per-task cost: each scaled iteration submits one task and waits for it, and the tables
    // report wall time and mallocs per iteration.
    Benchmark("task, submit then get") { benchmark in
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry().function(RuntimeFunctions.noop))
        benchmark.startMeasurement()
        for value in benchmark.scaledIterations { blackHole(try await cluster.submit(RuntimeFunctions.noop, value).get()) }
        benchmark.stopMeasurement()
        await cluster.shutdown()
    }

    Benchmark("put and get of a small object") { benchmark in
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry())
        benchmark.startMeasurement()
        for value in benchmark.scaledIterations { blackHole(try await cluster.put(value).get()) }
        benchmark.stopMeasurement()
        await cluster.shutdown()
    }
}
