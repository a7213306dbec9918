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
