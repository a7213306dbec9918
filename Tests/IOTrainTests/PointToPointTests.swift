import IOTensor
import Testing

@testable import IOTrain

@Suite("Point-to-point sends in one process", .timeLimit(.minutes(3)))
struct PointToPointTests {
    @Test("tensors go forward to the next rank and back to the previous, in order, between collectives", arguments: [2, 3, 4])
    func forwardAndBack(size: Int) async throws {
        let groups = try await formGroup(size: size)
        // Rank 0 starts a value down the line; every rank adds its rank and passes it on; the last
        // sends the result back down, and an allreduce in between checks that collectives still
        // pair up.
        let shapes: [[Int]] = [[3, 5], [1031], [], [0, 4], [2, 1, 2, 1, 2]]
        let results = try await onEveryRank(groups) { group -> [[Float]] in
            var received: [[Float]] = []
            for (index, shape) in shapes.enumerated() {
                var value: Tensor<Float>
                if group.rank == 0 {
                    value = try Tensor<Float>.randomNormal(shape, seed: UInt64(index))
                } else {
                    value = try await group.receive(Float.self, from: group.rank - 1)
                    #expect(value.shape == shape)
                    value = value + Float(group.rank)
                }
                if group.rank < group.size - 1 { try await group.send(value, to: group.rank + 1) }
                let total = try await group.allreduce(Tensor<Int32>([1]))
                #expect(total.scalars == [Int32(group.size)])
                // Back down the line.
                if group.rank == group.size - 1 {
                    if group.size > 1 { try await group.send(value, to: group.rank - 1) }
                    received.append(value.scalars)
                } else {
                    let back = try await group.receive(Float.self, from: group.rank + 1)
                    if group.rank > 0 { try await group.send(back, to: group.rank - 1) }
                    received.append(back.scalars)
                }
            }
            return received
        }
        for (index, shape) in shapes.enumerated() {
            // The same additions in the same order, so the same rounding.
            let expected = try Tensor<Float>.randomNormal(shape, seed: UInt64(index)).scalars.map { value in
                (1..<size).reduce(value) { $0 + Float($1) }
            }
            for rank in 0..<size { #expect(results[rank][index] == expected, "rank \(rank), tensor \(index) differs") }
        }
    }

    @Test("sends to a rank that is not a neighbour, to oneself, or of another type fail clearly")
    func errors() async throws {
        let groups = try await formGroup(size: 4)
        await #expect(throws: CollectiveError.self) { try await groups[0].send(Tensor<Float>([1]), to: 2) }
        await #expect(throws: CollectiveError.self) { try await groups[0].send(Tensor<Float>([1]), to: 0) }
        await #expect(throws: CollectiveError.self) { _ = try await groups[1].receive(Float.self, from: 3) }
        let single = try await formGroup(size: 1)
        await #expect(throws: CollectiveError.self) { try await single[0].send(Tensor<Float>([1]), to: 0) }

        // Float sent, Double expected: a mismatch on the receiver, not reinterpreted bytes.
        let pair = try await formGroup(size: 2)
        let outcomes = try await onEveryRank(pair) { group -> String in
            do {
                if group.rank == 0 {
                    try await group.send(Tensor<Float>([1, 2, 3]), to: 1)
                    return "sent"
                }
                _ = try await group.receive(Double.self, from: 0)
                return "received"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcomes[0] == "sent")
        #expect(outcomes[1].contains("do not match"), "\(outcomes[1])")

        // A rank that leaves before sending: the receiver fails instead of waiting forever.
        let left = try await formGroup(size: 3)
        await left[0].leave()
        await #expect(throws: CollectiveError.self) { _ = try await left[1].receive(Float.self, from: 0) }
    }

    @Test("a shape a peer announces is checked before anything is allocated for it")
    func announcedShapes() {
        #expect(CollectiveGroup.receivableCount([3, 4], elementSize: 4) == 12)
        #expect(CollectiveGroup.receivableCount([0, 1 << 40], elementSize: 8) == 0)
        #expect(CollectiveGroup.receivableCount([1 << 32, 1 << 32], elementSize: 4) == nil, "the count overflows")
        #expect(CollectiveGroup.receivableCount([1 << 31, 1 << 30], elementSize: 8) == nil, "the bytes overflow")
        #expect(CollectiveGroup.receivableCount([1 << 40], elementSize: 4) == nil, "more than this machine's memory")
        #expect(CollectiveGroup.receivableCount([-1, -1], elementSize: 4) == nil)
    }
}
