import IOTensor

/// The memory a collective works in: aligned, owned by this object, and borrowed without a copy
/// by the tensors a collective returns (which copy on their first write).
final class RingBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { base.deallocate() }

    func elements<Scalar>(_ type: Scalar.Type, _ range: Range<Int>) -> UnsafeMutablePointer<Scalar> {
        (base + range.lowerBound * MemoryLayout<Scalar>.stride).assumingMemoryBound(to: Scalar.self)
    }

    func bytes<Scalar>(_ type: Scalar.Type, _ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: base + range.lowerBound * MemoryLayout<Scalar>.stride, count: range.count * MemoryLayout<Scalar>.stride)
    }

    /// A tensor of `shape` over the elements `range`, borrowing this buffer.
    func tensor<Scalar: TensorScalar>(_ type: Scalar.Type, _ range: Range<Int>, shape: [Int]) throws -> Tensor<Scalar> {
        try AnyTensor(dtype: Scalar.dtype, shape: shape, borrowing: bytes(Scalar.self, range), owner: self).tensor(as: Scalar.self)
    }
}

/// How a ring collective cuts its elements: `size` segments (one per rank), each cut into the
/// same number of chunks, the unit that one message carries.
struct RingPlan {
    /// Segment `i` is `bounds[i]..<bounds[i + 1]`.
    let bounds: [Int]
    let chunksPerSegment: Int
    /// The bytes of one element.
    let elementSize: Int

    /// Segments of near-equal length over `count` elements.
    init(count: Int, size: Int, elementSize: Int, chunkBytes: Int) {
        self.init(bounds: (0...size).map { $0 * count / size }, elementSize: elementSize, chunkBytes: chunkBytes)
    }

    init(bounds: [Int], elementSize: Int, chunkBytes: Int) {
        self.bounds = bounds
        self.elementSize = elementSize
        let longest = zip(bounds.dropFirst(), bounds).map { $0 - $1 }.max() ?? 0
        chunksPerSegment = max(1, (longest * elementSize + chunkBytes - 1) / chunkBytes)
    }

    var segments: Int { bounds.count - 1 }

    func segment(_ index: Int) -> Range<Int> { bounds[index]..<bounds[index + 1] }

    func chunk(_ chunk: Int, of segment: Int) -> Range<Int> {
        let start = bounds[segment]
        let length = bounds[segment + 1] - start
        return (start + chunk * length / chunksPerSegment)..<(start + (chunk + 1) * length / chunksPerSegment)
    }
}
