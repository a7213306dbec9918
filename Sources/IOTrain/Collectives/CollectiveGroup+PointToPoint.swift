import Foundation
import IORuntime
import IOTensor
import Synchronization

// Point-to-point sends between ring neighbours, outside the collectives' sequence.
extension CollectiveGroup {
    // MARK: Point to point

    /// The most axes a tensor sent point to point may have.
    static let maximumSentRank = 16

    /// Sends `tensor` to a neighbouring rank — the next (`rank + 1`, wrapping round) or the
    /// previous — which takes it with ``receive(_:from:)``: a pipeline's activations go forward
    /// this way and its gradients back. Sends and receives between two ranks pair up in order;
    /// collectives in between must be called by every rank as usual. Returns once the tensor is
    /// handed to the transport (in process: to the receiver's queue).
    ///
    /// - Throws: ``CollectiveError/invalidArgument(_:)`` for a rank that is not a neighbour (or this
    ///   rank) or a tensor of more than 16 axes, and the group's failure if it broke.
    public func send<Scalar: CollectiveScalar>(_ tensor: Tensor<Scalar>, to destination: Int) async throws {
        let toNext = try neighbour(destination, sending: true)
        guard tensor.rank <= Self.maximumSentRank else {
            throw CollectiveError.invalidArgument(
                "a tensor of \(tensor.rank) axes; point-to-point sends take at most \(Self.maximumSentRank)")
        }
        let kind: CollectiveOperation = toNext ? .sendToNext : .sendToPrevious
        let direction: RankEndpoint.Direction = toNext ? .toNext : .toPrevious
        try await exclusivePointToPoint {
            let number = pointToPoint.withLock { counts -> UInt64 in
                defer { if toNext { counts.sentToNext += 1 } else { counts.sentToPrevious += 1 } }
                return toNext ? counts.sentToNext : counts.sentToPrevious
            }
            // First the shape (rank, then the dimensions, as Int64), then the elements in chunks.
            var shape = [Int64](repeating: 0, count: Self.maximumSentRank + 1)
            shape[0] = Int64(tensor.rank)
            for (axis, dimension) in tensor.shape.enumerated() { shape[axis + 1] = Int64(dimension) }
            let header = copy(Tensor<Int64>(shape))
            try await endpoint.send(
                sequence: number, step: 0, chunk: 0, operation: kind, elementSize: 8,
                elements: UnsafeRawBufferPointer(start: header.base, count: shape.count * 8), direction: direction)
            let buffer = copy(tensor)
            let plan = RingPlan(bounds: [0, tensor.count], elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: 0)
                let bytes = UnsafeRawBufferPointer(
                    start: buffer.base + range.lowerBound * plan.elementSize, count: range.count * plan.elementSize)
                try await endpoint.send(
                    sequence: number, step: 1, chunk: chunk, operation: kind, elementSize: plan.elementSize, elements: bytes,
                    direction: direction)
            }
        }
    }

    /// The next tensor a neighbouring rank sent this one with ``send(_:to:)``, waiting for it.
    ///
    /// - Throws: ``CollectiveError/invalidArgument(_:)`` for a rank that is not a neighbour,
    ///   ``CollectiveError/mismatch(group:reason:)`` when the sender sent another element type or
    ///   was in a collective, ``CollectiveError/peerLost(group:rank:)`` when it left without sending.
    public func receive<Scalar: CollectiveScalar>(_ type: Scalar.Type = Scalar.self, from source: Int) async throws -> Tensor<Scalar> {
        let fromPrevious = try neighbour(source, sending: false)
        let kind: CollectiveOperation = fromPrevious ? .sendToNext : .sendToPrevious
        return try await exclusivePointToPoint {
            let number = pointToPoint.withLock { counts -> UInt64 in
                defer { if fromPrevious { counts.receivedFromPrevious += 1 } else { counts.receivedFromNext += 1 } }
                return fromPrevious ? counts.receivedFromPrevious : counts.receivedFromNext
            }
            let shapePlan = RingPlan(bounds: [0, Self.maximumSentRank + 1], elementSize: 8, chunkBytes: chunkBytes)
            let header = try await receive(
                shapePlan, sequence: number, step: 0, chunk: 0, as: kind, count: Self.maximumSentRank + 1, fromNext: !fromPrevious)
            let dimensions = header.withElements { raw in
                (0...Self.maximumSentRank).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            let axes = dimensions[0]
            guard (0...Self.maximumSentRank).contains(axes), dimensions[1...].prefix(axes).allSatisfy({ $0 >= 0 }) else {
                let error = CollectiveError.malformedMessage(group: name, reason: "a sent tensor's shape \(dimensions)")
                endpoint.breakGroup(error)
                throw error
            }
            let shape = Array(dimensions[1...].prefix(axes))
            // The sender chose the shape: its size is checked before anything is allocated.
            guard let count = Self.receivableCount(shape, elementSize: MemoryLayout<Scalar>.stride) else {
                let error = CollectiveError.malformedMessage(
                    group: name, reason: "a sent tensor's shape \(shape) is larger than this machine's memory")
                endpoint.breakGroup(error)
                throw error
            }
            let buffer = RingBuffer(byteCount: count * MemoryLayout<Scalar>.stride)
            let plan = RingPlan(bounds: [0, count], elementSize: MemoryLayout<Scalar>.stride, chunkBytes: chunkBytes)
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: 0)
                let message = try await receive(
                    plan, sequence: number, step: 1, chunk: chunk, as: kind, count: range.count, fromNext: !fromPrevious)
                message.withElements { source in
                    if let from = source.baseAddress {
                        (buffer.base + range.lowerBound * plan.elementSize).copyMemory(from: from, byteCount: source.count)
                    }
                }
            }
            return try buffer.tensor(Scalar.self, 0..<count, shape: shape)
        }
    }

    /// The element count of a tensor of `shape` that a peer announced, or `nil` when its count
    /// or byte size overflows or exceeds this machine's physical memory.
    static func receivableCount(_ shape: [Int], elementSize: Int) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard dimension >= 0, !overflow else { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, UInt64(bytes) <= ProcessInfo.processInfo.physicalMemory else { return nil }
        return count
    }

    /// Whether `other` is the next rank (else the previous); throws when it is neither. With two
    /// ranks the other is both: sends go forward, so receives come from the previous rank.
    func neighbour(_ other: Int, sending: Bool) throws -> Bool {
        guard size > 1, other != rank, other == endpoint.nextRank || other == endpoint.previousRank else {
            throw CollectiveError.invalidArgument(
                "rank \(rank) can \(sending ? "send to" : "receive from") its neighbours \(endpoint.previousRank) and \(endpoint.nextRank) only, not \(other)"
            )
        }
        return sending ? other == endpoint.nextRank : other == endpoint.previousRank
    }

    /// Runs a point-to-point operation, one operation of this rank at a time.
    func exclusivePointToPoint<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await gate.enter()
        defer { gate.leave() }
        if let failure = endpoint.failure { throw failure }
        return try await body()
    }
}
