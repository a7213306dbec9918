/// The CPU loops that tensor operations run for one numeric scalar type: elementwise arithmetic,
/// comparisons and reductions, each specialized and vectorized for that type.
///
/// Every ``NumericScalar`` holds one table. It is opaque outside IOTensor: it has no public
/// members and only IOTensor's own scalar types can make one, which keeps the kernels out of the
/// public API and the set of scalar types closed.
public struct NumericKernels<Scalar: NumericScalar>: Sendable {
    let routines: any NumericRoutines<Scalar>.Type
}

/// The CPU loops that floating-point tensor operations run for `Float` or `Double`: transcendental
/// functions and softmax. Opaque outside IOTensor, as ``NumericKernels`` is.
public struct FloatingKernels<Scalar: FloatingScalar>: Sendable {
    let routines: any FloatingRoutines<Scalar>.Type
}

/// The kernel entry points behind ``NumericKernels``. Generic tensor code reaches them through the
/// scalar's table, so each call lands in a loop specialized for the concrete type; the default
/// implementations live next to the operations that use them.
protocol NumericRoutines<KernelScalar>: NumericScalar {
    associatedtype KernelScalar: NumericScalar

    /// Applies `operation` to one strided segment.
    static func binaryKernel(
        _ operation: BinaryOperation, _ a: UnsafePointer<KernelScalar>, _ strideA: Int,
        _ b: UnsafePointer<KernelScalar>, _ strideB: Int, _ out: UnsafeMutablePointer<KernelScalar>, _ count: Int)
    /// Compares one strided segment.
    static func compareKernel(
        _ operation: ComparisonOperation, _ a: UnsafePointer<KernelScalar>, _ strideA: Int,
        _ b: UnsafePointer<KernelScalar>, _ strideB: Int, _ out: UnsafeMutablePointer<Bool>, _ count: Int)
    /// Applies `operation` to one strided segment.
    static func unaryKernel(
        _ operation: UnaryOperation, _ a: UnsafePointer<KernelScalar>, _ strideA: Int,
        _ out: UnsafeMutablePointer<KernelScalar>, _ count: Int)
    /// Clamps one strided segment.
    static func clampKernel(
        _ a: UnsafePointer<KernelScalar>, _ strideA: Int, lower: KernelScalar, upper: KernelScalar,
        _ out: UnsafeMutablePointer<KernelScalar>, _ count: Int)
    /// Reduces one axis.
    static func reduceKernel(_ operation: ReductionOperation, _ job: ReductionJob<KernelScalar>)
}

/// The floating-point kernel entry points behind ``FloatingKernels``.
protocol FloatingRoutines<KernelScalar>: NumericRoutines, FloatingScalar where KernelScalar: FloatingScalar {
    /// Applies `operation` to one strided segment.
    static func floatingUnaryKernel(
        _ operation: FloatingUnaryOperation, _ a: UnsafePointer<KernelScalar>, _ strideA: Int,
        _ out: UnsafeMutablePointer<KernelScalar>, _ count: Int)
    /// Softmax or log-softmax over contiguous rows.
    static func softmaxRowsKernel(
        _ input: UnsafePointer<KernelScalar>, _ output: UnsafeMutablePointer<KernelScalar>, rows: Int, length: Int, logarithm: Bool)
}

extension NumericScalar {
    /// This type's elementwise and reduction kernels.
    static var kernels: any NumericRoutines<Self>.Type { numericKernels.routines }
}

extension FloatingScalar {
    /// This type's floating-point kernels.
    static var floatingRoutines: any FloatingRoutines<Self>.Type { floatingKernels.routines }
}
