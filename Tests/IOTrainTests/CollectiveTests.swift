import IOTensor
import Synchronization
import Testing

@testable import IOTrain

/// Forms a group of `size` ranks in this process and returns them in rank order.
func formGroup(size: Int, options: CollectiveGroup.Options = CollectiveGroup.Options(chunkBytes: 256)) async throws -> [CollectiveGroup] {
    let joined = Mutex<[Int: CollectiveGroup]>([:])
    try await CollectiveGroup.form(size: size, options: options) { rank, invitation in
        let group = try await CollectiveGroup.join(invitation)
        joined.withLock { $0[rank] = group }
    }
    return joined.withLock { groups in (0..<size).map { groups[$0]! } }
}

/// Runs `body` on every rank at once and returns the results in rank order.
func onEveryRank<R: Sendable>(_ groups: [CollectiveGroup], _ body: @escaping @Sendable (CollectiveGroup) async throws -> R) async throws
    -> [R]
{
    try await withThrowingTaskGroup(of: (Int, R).self) { tasks in
        for group in groups { tasks.addTask { (group.rank, try await body(group)) } }
        var results: [Int: R] = [:]
        for try await (rank, result) in tasks { results[rank] = result }
        return (0..<groups.count).map { results[$0]! }
    }
}

/// Rank `rank`'s input: values that differ per rank and per element, including negatives.
func input(rank: Int, shape: [Int]) throws -> Tensor<Float> {
    try Tensor<Float>.randomNormal(shape, seed: UInt64(100 + rank))
}

/// The reduction of the ranks' inputs, computed independently in Double.
func reference(_ inputs: [Tensor<Float>], _ operation: ReduceOperation) -> [Double] {
    let columns = inputs.map { $0.scalars.map(Double.init) }
    return (0..<columns[0].count).map { index in
        let values = columns.map { $0[index] }
        switch operation {
        case .sum: return values.reduce(0, +)
        case .average: return values.reduce(0, +) / Double(values.count)
        case .product: return values.reduce(1, *)
        case .minimum: return values.min()!
        case .maximum: return values.max()!
        }
    }
}

func expectClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-5, _ what: String) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)")
    let worst = zip(actual, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): relative error \(worst)")
}

@Suite("Collectives in one process", .timeLimit(.minutes(3)))
struct CollectiveTests {
    @Test("allreduce equals a local reduction, for every operation, group size and awkward length", arguments: [1, 2, 3, 4])
    func allreduce(size: Int) async throws {
        let groups = try await formGroup(size: size)
        for shape in [[1], [7], [3, 5], [1031]] {
            let inputs = try (0..<size).map { try input(rank: $0, shape: shape) }
            for operation in ReduceOperation.allCases {
                let results = try await onEveryRank(groups) { group in try await group.allreduce(inputs[group.rank], operation) }
                let expected = reference(inputs, operation)
                for (rank, result) in results.enumerated() {
                    #expect(result.shape == shape)
                    expectClose(result.scalars, expected, "\(operation) of \(shape) on rank \(rank) of \(size)")
                }
            }
        }
        for group in groups { await group.leave() }
    }

    @Test("integer allreduce is exact, and a barrier counts every rank")
    func integers() async throws {
        let groups = try await formGroup(size: 3)
        let results = try await onEveryRank(groups) { group in
            try await group.barrier()
            return try await group.allreduce(Tensor<Int64>((0..<10).map { Int64($0 * (group.rank + 1)) }), .maximum)
        }
        for result in results { #expect(result.scalars == (0..<10).map { Int64($0 * 3) }) }
        for group in groups { await group.leave() }
    }

    @Test("reduceScatter gives rank r part r of the reduction; allgather stacks the ranks' tensors", arguments: [1, 2, 3])
    func scatterAndGather(size: Int) async throws {
        let groups = try await formGroup(size: size)
        let shape = [size * 4, 3]
        let inputs = try (0..<size).map { try input(rank: $0, shape: shape) }
        let parts = try await onEveryRank(groups) { group in try await group.reduceScatter(inputs[group.rank]) }
        let sum = reference(inputs, .sum)
        for (rank, part) in parts.enumerated() {
            #expect(part.shape == [4, 3])
            expectClose(part.scalars, Array(sum[(rank * 12)..<((rank + 1) * 12)]), "part \(rank)")
        }
        let gathered = try await onEveryRank(groups) { group in try await group.allgather(try inputs[group.rank].reshaped([size * 12])) }
        let stacked = inputs.flatMap { $0.scalars.map(Double.init) }
        for result in gathered {
            #expect(result.shape == [size, size * 12])
            expectClose(result.scalars, stacked, tolerance: 0, "allgather")
        }
        if size > 1 {
            await #expect(throws: CollectiveError.self) { try await groups[0].reduceScatter(Tensor<Float>([1, 2, 3, 4, 5])) }
        }
        for group in groups { await group.leave() }
    }

    @Test("broadcast copies the root's tensor to every rank, from any root")
    func broadcast() async throws {
        let groups = try await formGroup(size: 4)
        for root in 0..<4 {
            let results = try await onEveryRank(groups) { group in
                try await group.broadcast(try input(rank: group.rank, shape: [300]), from: root)
            }
            let expected = try input(rank: root, shape: [300]).scalars.map(Double.init)
            for result in results { expectClose(result.scalars, expected, tolerance: 0, "broadcast from \(root)") }
        }
        await #expect(throws: CollectiveError.invalidArgument("root 9 is not a rank of a group of 4")) {
            try await groups[0].broadcast(Tensor<Float>([1]), from: 9)
        }
        for group in groups { await group.leave() }
    }

    @Test("returned tensors are the caller's: writing one leaves the others and the next call intact")
    func ownership() async throws {
        let groups = try await formGroup(size: 2)
        let results = try await onEveryRank(groups) { group in try await group.allreduce(Tensor<Float>([1, 2, 3])) }
        var first = results[0]
        first.withUnsafeMutableBufferPointer { $0[0] = 100 }
        #expect(first.scalars == [100, 4, 6])
        #expect(results[1].scalars == [2, 4, 6])
        for group in groups { await group.leave() }
    }

    @Test("ranks that call different collectives, or pass different shapes, fail with a mismatch instead of mixing data")
    func mismatches() async throws {
        let groups = try await formGroup(size: 2)
        let outcomes = await withTaskGroup(of: (any Error)?.self) { tasks in
            tasks.addTask {
                do { _ = try await groups[0].allreduce(Tensor<Float>([1, 2])) } catch { return error }
                return nil
            }
            tasks.addTask {
                do { _ = try await groups[1].allgather(Tensor<Float>([1, 2])) } catch { return error }
                return nil
            }
            return await tasks.reduce(into: []) { $0.append($1) }
        }
        // The rank that notices tells the other, which may be waiting for data that will not come.
        for outcome in outcomes {
            switch outcome as? CollectiveError {
            case .mismatch?, .aborted?: break
            default: Issue.record("expected a mismatch, got \(String(describing: outcome))")
            }
        }
        // A broken group stays broken for later calls.
        await #expect(throws: CollectiveError.self) { try await groups[0].barrier() }

        let fresh = try await formGroup(size: 2)
        let sizes = await withTaskGroup(of: (any Error)?.self) { tasks in
            for group in fresh {
                tasks.addTask {
                    do { _ = try await group.allreduce(Tensor<Float>(shape: [2 + group.rank], repeating: 1)) } catch { return error }
                    return nil
                }
            }
            return await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(sizes.allSatisfy { $0 is CollectiveError })
        #expect(sizes.contains { if case .mismatch? = $0 as? CollectiveError { true } else { false } })
        for group in groups + fresh { await group.leave() }
    }

    @Test("a rank that never joins makes forming the group time out")
    func rendezvousTimeout() async throws {
        let options = CollectiveGroup.Options(timeout: .milliseconds(300))
        await #expect(throws: CollectiveError.self) {
            try await CollectiveGroup.form(size: 2, options: options) { rank, invitation in
                if rank == 0 { _ = try await CollectiveGroup.join(invitation) }
            }
        }
    }
}

extension Tensor where Scalar == Float {
    init(shape: [Int], repeating value: Float) {
        self = try! Tensor(repeating: value, shape: shape)
    }
}
