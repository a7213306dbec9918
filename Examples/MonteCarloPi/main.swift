// Estimates π by throwing random points at a square, in parallel tasks, and reducing the counts.
//
//     swift run -c release MonteCarloPi [tasks] [samples-per-task]
//     iocompute submit .build/release/MonteCarloPi [tasks] [samples-per-task]   # on a cluster
import Foundation
import IOCompute

enum MonteCarlo {
    /// Counts how many of `samples` uniform points in the unit square fall inside the quarter
    /// circle. Each task draws from its own Philox streams, so the estimate is reproducible.
    static let countInside = RemoteFunction("countInside") { (seed: UInt64, samples: Int) async throws -> Int in
        let x = try Tensor<Double>.randomUniform([samples], seed: seed)
        let y = try Tensor<Double>.randomUniform([samples], seed: seed | (1 << 63))
        return try (x * x + y * y .<= 1).trueCount
    }

    /// Adds up the per-task counts: the fan-in of the graph.
    static let total = RemoteFunction("total") { (counts: [Int]) async throws -> Int in counts.reduce(0, +) }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let tasks = arguments.first ?? 64
let samplesPerTask = arguments.dropFirst().first ?? 1_000_000

// In process here; on the cluster's nodes (4 worker processes) when submitted with `iocompute submit`.
let cluster = try await Cluster.start(
    .submittedJob(workers: 4, otherwise: .inProcess(workers: ProcessInfo.processInfo.activeProcessorCount)),
    registry: Registry().function(MonteCarlo.countInside).function(MonteCarlo.total))

let started = ContinuousClock.now
var counts: [ObjectRef<Int>] = []
for task in 0..<tasks { counts.append(try await cluster.submit(MonteCarlo.countInside, UInt64(task), samplesPerTask)) }
let inside = try await cluster.submit(MonteCarlo.total, counts.gathered()).get()
let elapsed = ContinuousClock.now - started

let estimate = 4 * Double(inside) / Double(tasks * samplesPerTask)
print("π ≈ \(estimate) (error \(abs(estimate - Double.pi))) from \(tasks * samplesPerTask) points in \(tasks) tasks, \(elapsed)")
await cluster.shutdown()
