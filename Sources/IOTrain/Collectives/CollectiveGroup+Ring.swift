import Foundation
import IORuntime
import IOTensor
import Synchronization

// The ring algorithms: reduce-scatter and allgather phases, chunked messages, and buffers.
extension CollectiveGroup {
    // MARK: Ring phases

    /// Ring reduce-scatter: after `size − 1` steps this rank's segment holds the reduction of all.
    /// At step `s` rank `r` sends segment `r − s − 1` and reduces segment `r − s − 2` into its own
    /// copy; each chunk it reduces goes on at once as the next step's chunk.
    ///
    /// The buffer starts empty and `source` is never copied in whole: the first segment is sent
    /// straight from `source`, and each reduced chunk is written as `source` ⊕ received in one
    /// pass. The first segment's place in the buffer stays unwritten; the allgather fills it.
    func reduceScatter<Scalar: CollectiveScalar>(
        _ buffer: RingBuffer, _ source: Tensor<Scalar>, _ plan: RingPlan, _ operation: ReduceOperation, sequence: UInt64,
        as kind: CollectiveOperation
    ) async throws {
        guard size > 1 else { return Self.copy(source, into: buffer, at: 0) }
        let first = (rank + size - 1) % size
        // The first segment goes out straight from the input; the allgather refills it later.
        for chunk in 0..<plan.chunksPerSegment {
            let range = plan.chunk(chunk, of: first)
            try await endpoint.send(
                sequence: sequence, step: 0, chunk: chunk, operation: kind, elementSize: plan.elementSize,
                byteCount: range.count * plan.elementSize
            ) { body in
                source.withUnsafeBytes { raw in
                    body(UnsafeRawBufferPointer(rebasing: raw[range.lowerBound * plan.elementSize..<range.upperBound * plan.elementSize]))
                }
            }
        }
        for step in 0..<(size - 1) {
            let segment = ((rank - step - 2) % size + size) % size
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: segment)
                let message = try await receive(plan, sequence: sequence, step: step, chunk: chunk, as: kind, count: range.count)
                // This rank's part of the chunk and the one received, reduced in one pass.
                message.withElements { received in
                    source.withUnsafeBytes { own in
                        guard let mine = own.baseAddress, let theirs = received.baseAddress, !range.isEmpty else { return }
                        Scalar.combine(
                            operation, into: buffer.elements(Scalar.self, range), first: mine + range.lowerBound * plan.elementSize,
                            second: theirs, count: range.count)
                    }
                }
                if step < size - 2 {
                    try await send(buffer, plan, range, sequence: sequence, step: step + 1, chunk: chunk, as: kind)
                }
            }
        }
    }

    /// Ring allgather: this rank's segment `r` travels round the ring, and it receives segment
    /// `r − s − 1` at step `s`, forwarding each chunk as it lands.
    func allgather(_ buffer: RingBuffer, _ plan: RingPlan, sequence: UInt64, as kind: CollectiveOperation, firstStep: Int)
        async throws
    {
        guard size > 1 else { return }
        for chunk in 0..<plan.chunksPerSegment {
            try await send(buffer, plan, plan.chunk(chunk, of: rank), sequence: sequence, step: firstStep, chunk: chunk, as: kind)
        }
        for step in 0..<(size - 1) {
            let segment = ((rank - step - 1) % size + size) % size
            for chunk in 0..<plan.chunksPerSegment {
                let range = plan.chunk(chunk, of: segment)
                let message = try await receive(
                    plan, sequence: sequence, step: firstStep + step, chunk: chunk, as: kind, count: range.count)
                message.withElements { source in
                    if let from = source.baseAddress {
                        (buffer.base + range.lowerBound * plan.elementSize).copyMemory(from: from, byteCount: source.count)
                    }
                }
                if step < size - 2 { try await endpoint.send(message.restepped(firstStep + step + 1)) }
            }
        }
    }

    // MARK: Messages

    /// Sends the elements `range` of `buffer` as one chunk.
    func send(
        _ buffer: RingBuffer, _ plan: RingPlan, _ range: Range<Int>, sequence: UInt64, step: Int, chunk: Int, as kind: CollectiveOperation
    ) async throws {
        let bytes = UnsafeRawBufferPointer(start: buffer.base + range.lowerBound * plan.elementSize, count: range.count * plan.elementSize)
        try await endpoint.send(
            sequence: sequence, step: step, chunk: chunk, operation: kind, elementSize: plan.elementSize, elements: bytes)
    }

    /// The next message, checked against what this rank expects; a mismatch breaks the group.
    func receive(
        _ plan: RingPlan, sequence: UInt64, step: Int, chunk: Int, as kind: CollectiveOperation, count: Int, fromNext: Bool = false
    ) async throws -> CollectiveMessage {
        let elementSize = plan.elementSize
        let message = try await endpoint.receive(fromNext: fromNext)
        var problem: String?
        if message.operation != kind || message.sequence != sequence {
            problem =
                "rank \(rank) is in \(kind) #\(sequence), rank \(endpoint.previousRank) sent \(message.operation) #\(message.sequence)"
        } else if message.step != UInt32(step) || message.chunk != UInt32(chunk) {
            problem = "\(kind) #\(sequence): expected step \(step) chunk \(chunk), got step \(message.step) chunk \(message.chunk)"
        } else if Int(message.elementSize) != elementSize || message.elementByteCount != count * elementSize {
            problem =
                "\(kind) #\(sequence): rank \(rank) expected \(count) elements of \(elementSize) bytes, rank \(endpoint.previousRank) sent \(message.elementByteCount) bytes of \(message.elementSize)-byte elements (different shapes or types)"
        }
        if let problem {
            let error = CollectiveError.mismatch(group: name, reason: problem)
            endpoint.breakGroup(error)
            throw error
        }
        return message
    }

    // MARK: Helpers

    /// Runs one collective at a time with its sequence number.
    func exclusive<R: Sendable>(_ body: (UInt64) async throws -> R) async throws -> R {
        try await gate.enter()
        defer { gate.leave() }
        if let failure = endpoint.failure { throw failure }
        let number = sequence.add(1, ordering: .relaxed).oldValue
        return try await body(number)
    }

    func copy<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) -> RingBuffer {
        let buffer = buffer(byteCount: tensor.count * MemoryLayout<Scalar>.stride)
        Self.copy(tensor, into: buffer, at: 0)
        return buffer
    }

    /// A buffer of `byteCount` bytes: the spare one when no tensor borrows it and it is the
    /// right size, a new one otherwise (which becomes the spare if it is large).
    func buffer(byteCount: Int) -> RingBuffer {
        guard byteCount >= 1 << 20 else { return RingBuffer(byteCount: byteCount) }
        return spare.withLock { spare in
            if var candidate = spare.take() {
                if isKnownUniquelyReferenced(&candidate), candidate.byteCount == byteCount {
                    spare = candidate
                    return candidate
                }
            }
            let fresh = RingBuffer(byteCount: byteCount)
            spare = fresh
            return fresh
        }
    }

    static func copy<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, into buffer: RingBuffer, at offset: Int) {
        tensor.contiguous().withUnsafeBytes { raw in
            if let base = raw.baseAddress {
                (buffer.base + offset * MemoryLayout<Scalar>.stride).copyMemory(from: base, byteCount: raw.count)
            }
        }
    }
}
