// Elementwise comparisons to `Bool` masks, logical operations on masks, and selection by mask.
//
// The pointwise operators `.==`, `.!=`, `.<`, `.<=`, `.>`, `.>=` are the ones the standard library
// declares for SIMD vectors; `==` stays whole-tensor equality.

extension Tensor where Scalar: NumericScalar {
    static func compare(_ operation: ComparisonOperation, _ a: Tensor, _ b: Tensor, name: String) throws(TensorError)
        -> Tensor<Bool>
    {
        let shape = a.shape == b.shape ? a.shape : try broadcastShapes(a.shape, b.shape, operation: name)
        return applyCompare(operation, a, b, shape: shape)
    }

    /// `operation` on `a` and `b` broadcast to `shape`, which must be their broadcast shape.
    static func applyCompare(_ operation: ComparisonOperation, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor<Bool> {
        if let result = DeviceDispatch.elementwise(
            .compare(operation), dtype: Scalar.dtype, shape: shape, on: a.backend ?? b.backend, [a, b], as: Bool.self)
        {
            return result
        }
        let result = Tensor<Bool>(uninitializedShape: shape)
        let loop = StridedLoop(
            shape: shape, operandStrides: [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape)])
        let left = SharedPointer(a.basePointer)
        let right = SharedPointer(b.basePointer)
        let output = SharedPointer(result.basePointer)
        let strideA = loop.innerStride(0)
        let strideB = loop.innerStride(1)
        loop.run { start, offsets, length in
            Scalar.kernels.compareKernel(
                operation, left.base + offsets.a, strideA, right.base + offsets.b, strideB, output.base + start, length)
        }
        return result
    }

    /// A mask of where the elements are equal, with broadcasting.
    public static func .== (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> { try compare(.equal, lhs, rhs, name: "equal") }
    /// A mask of where the elements differ, with broadcasting.
    public static func .!= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> {
        try compare(.notEqual, lhs, rhs, name: "notEqual")
    }
    /// A mask of where `lhs` is less than `rhs`, with broadcasting.
    public static func .< (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> { try compare(.less, lhs, rhs, name: "less") }
    /// A mask of where `lhs` is at most `rhs`, with broadcasting.
    public static func .<= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> {
        try compare(.lessOrEqual, lhs, rhs, name: "lessOrEqual")
    }
    /// A mask of where `lhs` is greater than `rhs`, with broadcasting.
    public static func .> (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> {
        try compare(.greater, lhs, rhs, name: "greater")
    }
    /// A mask of where `lhs` is at least `rhs`, with broadcasting.
    public static func .>= (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor<Bool> {
        try compare(.greaterOrEqual, lhs, rhs, name: "greaterOrEqual")
    }

    /// A mask of where the elements equal `rhs`.
    public static func .== (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { applyCompare(.equal, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// A mask of where the elements differ from `rhs`.
    public static func .!= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> {
        applyCompare(.notEqual, lhs, Tensor(scalar: rhs), shape: lhs.shape)
    }
    /// A mask of where the elements are less than `rhs`.
    public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { applyCompare(.less, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// A mask of where the elements are at most `rhs`.
    public static func .<= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> {
        applyCompare(.lessOrEqual, lhs, Tensor(scalar: rhs), shape: lhs.shape)
    }
    /// A mask of where the elements are greater than `rhs`.
    public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> { applyCompare(.greater, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// A mask of where the elements are at least `rhs`.
    public static func .>= (lhs: Tensor, rhs: Scalar) -> Tensor<Bool> {
        applyCompare(.greaterOrEqual, lhs, Tensor(scalar: rhs), shape: lhs.shape)
    }
}

extension Tensor where Scalar == Bool {
    private static func logical(_ a: Tensor, _ b: Tensor, name: String, _ body: @escaping @Sendable (Bool, Bool) -> Bool)
        throws(TensorError) -> Tensor
    {
        let shape = a.shape == b.shape ? a.shape : try broadcastShapes(a.shape, b.shape, operation: name)
        let result = Tensor(uninitializedShape: shape)
        let loop = StridedLoop(shape: shape, operandStrides: [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape)])
        let left = SharedPointer(a.basePointer)
        let right = SharedPointer(b.basePointer)
        let output = SharedPointer(result.basePointer)
        let strideA = loop.innerStride(0)
        let strideB = loop.innerStride(1)
        loop.run { start, offsets, length in
            binarySegment(left.base + offsets.a, strideA, right.base + offsets.b, strideB, output.base + start, length, body)
        }
        return result
    }

    /// True where both masks are true, with broadcasting.
    public func logicalAnd(_ other: Tensor) throws(TensorError) -> Tensor {
        try Tensor.logical(self, other, name: "logicalAnd") { $0 && $1 }
    }
    /// True where either mask is true, with broadcasting.
    public func logicalOr(_ other: Tensor) throws(TensorError) -> Tensor { try Tensor.logical(self, other, name: "logicalOr") { $0 || $1 } }
    /// True where the mask is false.
    public func logicalNot() -> Tensor {
        let result = Tensor(uninitializedShape: shape)
        let input = SharedPointer(basePointer)
        let output = SharedPointer(result.basePointer)
        forEachSegment(cost: 1) { start, offset, step, length in
            unarySegment(input.base + offset, step, output.base + start, length) { !$0 }
        }
        return result
    }
    /// The number of true elements.
    public var trueCount: Int { withUnsafeBufferPointer { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } }
}

extension Tensor {
    /// Elements of `whenTrue` where `condition` holds and of `whenFalse` elsewhere, all three
    /// broadcast to a common shape (NumPy's `where`).
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when the three shapes do
    ///   not broadcast together.
    public static func `where`(_ condition: Tensor<Bool>, _ whenTrue: Tensor, _ whenFalse: Tensor) throws(TensorError) -> Tensor {
        let valueShape = try broadcastShapes(whenTrue.shape, whenFalse.shape, operation: "where")
        let shape = try broadcastShapes(condition.shape, valueShape, operation: "where")
        let deviceBackend =
            whenTrue.backend ?? whenFalse.backend
            ?? (condition.buffer.deviceMemory?.backend).flatMap { $0.supports(Scalar.dtype) ? $0 : nil }
        if let result = DeviceDispatch.elementwise(
            .select, dtype: Scalar.dtype, shape: shape, on: deviceBackend, [condition, whenTrue, whenFalse], as: Scalar.self)
        {
            return result
        }
        let result = Tensor(uninitializedShape: shape)
        let loop = StridedLoop(
            shape: shape,
            operandStrides: [
                condition.broadcastStrides(to: shape), whenTrue.broadcastStrides(to: shape),
                whenFalse.broadcastStrides(to: shape),
            ])
        let mask = SharedPointer(condition.basePointer)
        let first = UnsafeRawPointer(whenTrue.basePointer)
        let second = UnsafeRawPointer(whenFalse.basePointer)
        let output = UnsafeMutableRawPointer(result.basePointer)
        switch MemoryLayout<Scalar>.stride {
        case 1: select(loop, mask, first, second, output, as: UInt8.self)
        case 2: select(loop, mask, first, second, output, as: UInt16.self)
        case 4: select(loop, mask, first, second, output, as: UInt32.self)
        default: select(loop, mask, first, second, output, as: UInt64.self)
        }
        return result
    }

    private static func select<Word: FixedWidthInteger>(
        _ loop: StridedLoop, _ mask: SharedPointer<Bool>, _ first: UnsafeRawPointer, _ second: UnsafeRawPointer,
        _ output: UnsafeMutableRawPointer, as: Word.Type
    ) {
        let a = SharedPointer(first.assumingMemoryBound(to: Word.self))
        let b = SharedPointer(second.assumingMemoryBound(to: Word.self))
        let out = SharedPointer(output.assumingMemoryBound(to: Word.self))
        let (sm, sa, sb) = (loop.innerStride(0), loop.innerStride(1), loop.innerStride(2))
        loop.run { start, offsets, length in
            let m = mask.base + offsets.a
            let x = a.base + offsets.b
            let y = b.base + offsets.c
            let o = out.base + start
            for i in 0..<length { o[i] = m[i * sm] ? x[i * sa] : y[i * sb] }
        }
    }
}
