import IOTensor

// Loops over elements run here, compiled for Float and for Double. Generic code over `Scalar`
// would reach every element through witness tables, an order of magnitude slower; dispatching
// once per call on the concrete type keeps the loops tight.

/// Calls `float` or `double` with `input` and `output` rebound to the concrete scalar type.
func withConcreteBuffers<Scalar: LinearAlgebraScalar, R>(
    _ input: UnsafeBufferPointer<Scalar>, _ output: UnsafeMutableBufferPointer<Scalar>,
    float: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> R,
    double: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> R
) -> R {
    if Scalar.self == Float.self {
        return input.withMemoryRebound(to: Float.self) { i in output.withMemoryRebound(to: Float.self) { o in float(i, o) } }
    }
    precondition(Scalar.self == Double.self, "IONN runs on Float and Double")
    return input.withMemoryRebound(to: Double.self) { i in output.withMemoryRebound(to: Double.self) { o in double(i, o) } }
}

/// A new tensor of `shape` whose elements `kernel` writes from `source`'s (row-major), the
/// kernel compiled for the concrete scalar type.
func concreteTensor<Scalar: LinearAlgebraScalar>(
    _ shape: [Int], from source: Tensor<Scalar>,
    float: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void,
    double: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
) throws -> Tensor<Scalar> {
    try source.contiguous().withUnsafeBufferPointer { input in
        try Tensor<Scalar>(shape: shape) { output in
            withConcreteBuffers(input, output, float: float, double: double)
        }
    }
}

/// A new tensor from two of the same shape, element by element, the kernel compiled for the
/// concrete scalar type.
func concreteTensor<Scalar: LinearAlgebraScalar>(
    combining first: Tensor<Scalar>, _ second: Tensor<Scalar>,
    float: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void,
    double: (UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
) throws -> Tensor<Scalar> {
    precondition(first.shape == second.shape, "combining \(first.shape) with \(second.shape)")
    let other = second.contiguous()
    return try other.withUnsafeBufferPointer { b in
        try concreteTensor(
            first.shape, from: first,
            float: { a, out in b.withMemoryRebound(to: Float.self) { float(a, $0, out) } },
            double: { a, out in b.withMemoryRebound(to: Double.self) { double(a, $0, out) } })
    }
}

enum ElementKernels {
    /// The gradient where the input was positive, zero elsewhere (ReLU's backward).
    @inline(__always)
    static func reluBackward<T: BinaryFloatingPoint>(
        _ gradient: UnsafeBufferPointer<T>, _ input: UnsafeBufferPointer<T>, _ output: UnsafeMutableBufferPointer<T>
    ) {
        // Both operands loaded unconditionally: the select then compiles to vector blends, not a
        // branch that mispredicts on every other element.
        guard let g = gradient.baseAddress, let x = input.baseAddress, let o = output.baseAddress else { return }
        for index in 0..<output.count {
            let passed = g[index]
            o[index] = x[index] > 0 ? passed : 0
        }
    }
}
