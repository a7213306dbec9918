// Reductions over one axis, several axes, or the whole tensor.
//
// Axes may be negative (counting from the end). `keepingDimensions: true` leaves reduced axes in
// place with size 1, so that the result broadcasts against the input, as NumPy's `keepdims`.

/// Resolves a possibly negative axis against `rank`.
func normalizedAxis(_ axis: Int, rank: Int, operation: String) throws(TensorError) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard resolved >= 0 && resolved < rank else {
        throw .invalidAxis(operation: operation, axis: axis, rank: rank)
    }
    return resolved
}

/// Resolves and sorts a list of axes, rejecting duplicates.
func normalizedAxes(_ axes: [Int], rank: Int, operation: String) throws(TensorError) -> [Int] {
    var result: [Int] = []
    for axis in axes {
        let resolved = try normalizedAxis(axis, rank: rank, operation: operation)
        if result.contains(resolved) {
            throw .invalidArgument(operation: operation, reason: "axis \(axis) is listed twice")
        }
        result.append(resolved)
    }
    return result.sorted()
}

extension Tensor where Scalar: NumericScalar {
    /// Reduces one (already normalized) axis; shape keeps a 1 there.
    func reduce(_ operation: ReductionOperation, axis: Int) throws(TensorError) -> Tensor {
        let length = shape[axis]
        if length == 0 && operation != .sum {
            throw .invalidArgument(operation: "\(operation)", reason: "cannot reduce an empty dimension (axis \(axis) of shape \(shape))")
        }
        let source = contiguous()
        var resultShape = shape
        resultShape[axis] = 1
        let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
        if let result = DeviceDispatch.run(
            "\(operation)", on: backend,
            { backend in
                try source.reducedOnDevice(
                    operation, backend, outer: outer, length: length, inner: inner, resultShape: resultShape, as: Scalar.self)
            })
        {
            return result
        }
        let result = Tensor(uninitializedShape: resultShape)
        let job = ReductionJob(
            input: source.basePointer, outer: outer, length: length, inner: inner, values: result.basePointer, indices: nil)
        Scalar.kernels.reduceKernel(operation, job)
        return result
    }

    func reduce(_ operation: ReductionOperation, axes: [Int]?, keepingDimensions: Bool, name: String) throws(TensorError) -> Tensor {
        let resolved =
            try axes.map { (list) throws(TensorError) -> [Int] in try normalizedAxes(list, rank: rank, operation: name) } ?? Array(0..<rank)
        var result: Tensor
        if resolved.count == rank && rank > 1 && isContiguous {
            // Every axis of a contiguous tensor: one pass over a flat view.
            result = try Tensor(buffer: buffer, shape: [count], strides: [1], offset: offset).reduce(operation, axis: 0)
            result.shape = Array(repeating: 1, count: rank)
            result.strides = Tensor.contiguousStrides(result.shape)
        } else {
            result = self
            // Innermost first keeps each step's input contiguous along the axes still to reduce.
            for axis in resolved.reversed() { result = try result.reduce(operation, axis: axis) }
        }
        if !keepingDimensions {
            result = result.removingAxes(resolved)
        }
        return result
    }

    /// `operation` over this contiguous tensor seen as `[outer, length, inner]`, on `backend`, into
    /// a new tensor of `resultShape` (values, or `Int` indices for argmax and argmin).
    func reducedOnDevice<Output: TensorScalar>(
        _ operation: ReductionOperation, _ backend: any DeviceBackend, outer: Int, length: Int, inner: Int, resultShape: [Int],
        as _: Output.Type
    ) throws -> Tensor<Output> {
        let result = try Tensor<Output>.allocated(on: backend, shape: resultShape, operation: "\(operation)")
        if result.count > 0 {
            let input = try operand(on: backend, broadcastTo: shape)
            try backend.reduce(
                operation, dtype: Scalar.dtype, input: input.storage, inputOffset: input.offset, outer: outer, length: length, inner: inner,
                output: result.outputStorage)
        }
        return result
    }

    /// Drops size-1 axes at the given positions (the result of a reduction).
    func removingAxes(_ axes: [Int]) -> Tensor {
        if axes.isEmpty { return self }
        let newShape = shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
        return Tensor(buffer: buffer, shape: newShape, strides: Tensor.contiguousStrides(newShape), offset: offset)
    }

    /// The sum of all elements, as a scalar tensor.
    public func sum() -> Tensor {
        let source = contiguous()
        if let result = DeviceDispatch.run(
            "sum", on: backend,
            { backend in
                try source.reducedOnDevice(.sum, backend, outer: 1, length: count, inner: 1, resultShape: [], as: Scalar.self)
            })
        {
            return result
        }
        let result = Tensor(uninitializedShape: [])
        let job = ReductionJob(input: source.basePointer, outer: 1, length: count, inner: 1, values: result.basePointer, indices: nil)
        Scalar.kernels.reduceKernel(.sum, job)
        return result
    }

    /// Sums along `axes` (every axis when `nil`).
    ///
    /// - Throws: ``TensorError/invalidAxis(operation:axis:rank:)`` for an axis outside the rank.
    public func sum(alongAxes axes: [Int]?, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.sum, axes: axes, keepingDimensions: keepingDimensions, name: "sum")
    }

    /// Sums along one axis.
    public func sum(alongAxis axis: Int, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.sum, axes: [axis], keepingDimensions: keepingDimensions, name: "sum")
    }

    /// The largest element along `axes` (every axis when `nil`); NaN wins.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` for an empty tensor.
    public func max(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.maximum, axes: axes, keepingDimensions: keepingDimensions, name: "max")
    }

    /// The largest element along one axis; NaN wins.
    public func max(alongAxis axis: Int, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.maximum, axes: [axis], keepingDimensions: keepingDimensions, name: "max")
    }

    /// The smallest element along `axes` (every axis when `nil`); NaN wins.
    public func min(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.minimum, axes: axes, keepingDimensions: keepingDimensions, name: "min")
    }

    /// The smallest element along one axis; NaN wins.
    public func min(alongAxis axis: Int, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try reduce(.minimum, axes: [axis], keepingDimensions: keepingDimensions, name: "min")
    }

    func argReduce(_ operation: ReductionOperation, axis: Int?, name: String) throws(TensorError) -> Tensor<Int> {
        let source: Tensor
        let resolved: Int
        if let axis {
            resolved = try normalizedAxis(axis, rank: rank, operation: name)
            source = contiguous()
        } else {
            source = Tensor(buffer: contiguous().buffer, shape: [count], strides: [1], offset: isContiguous ? offset : 0)
            resolved = 0
        }
        guard source.shape[resolved] > 0 else {
            throw .invalidArgument(operation: name, reason: "cannot take \(name) of an empty dimension (shape \(shape))")
        }
        var resultShape = source.shape
        resultShape.remove(at: resolved)
        let (outer, length, inner) = (
            source.shape[..<resolved].reduce(1, *), source.shape[resolved], source.shape[(resolved + 1)...].reduce(1, *)
        )
        if let result = DeviceDispatch.run(
            "\(operation)", on: backend,
            { backend in
                try source.reducedOnDevice(
                    operation, backend, outer: outer, length: length, inner: inner, resultShape: resultShape, as: Int.self)
            })
        {
            return result
        }
        let result = Tensor<Int>(uninitializedShape: resultShape)
        let job = ReductionJob(
            input: source.basePointer, outer: outer, length: length, inner: inner, values: nil, indices: result.basePointer)
        Scalar.kernels.reduceKernel(operation, job)
        return result
    }

    /// The index of the first largest element along `axis`, or in the flattened tensor when `nil`.
    public func argmax(alongAxis axis: Int? = nil) throws(TensorError) -> Tensor<Int> {
        try argReduce(.argmax, axis: axis, name: "argmax")
    }

    /// The index of the first smallest element along `axis`, or in the flattened tensor when `nil`.
    public func argmin(alongAxis axis: Int? = nil) throws(TensorError) -> Tensor<Int> {
        try argReduce(.argmin, axis: axis, name: "argmin")
    }
}

extension Tensor where Scalar: FloatingScalar {
    /// The arithmetic mean along `axes` (every axis when `nil`).
    public func mean(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        let resolved =
            try axes.map { (list) throws(TensorError) -> [Int] in try normalizedAxes(list, rank: rank, operation: "mean") }
            ?? Array(0..<rank)
        let total = try sum(alongAxes: resolved, keepingDimensions: keepingDimensions)
        let n = resolved.reduce(1) { $0 * shape[$1] }
        return total / Scalar(n)
    }

    /// The arithmetic mean along one axis.
    public func mean(alongAxis axis: Int, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try mean(alongAxes: [axis], keepingDimensions: keepingDimensions)
    }

    /// The variance along `axes`: the mean squared deviation from the mean, divided by
    /// `n - correction` (0 for the population variance as NumPy's default, 1 for the sample
    /// variance as PyTorch's default).
    public func variance(alongAxes axes: [Int]? = nil, correction: Int = 0, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        let resolved =
            try axes.map { (list) throws(TensorError) -> [Int] in try normalizedAxes(list, rank: rank, operation: "variance") }
            ?? Array(0..<rank)
        let center = try mean(alongAxes: resolved, keepingDimensions: true)
        let deviations = try (self - center).squared()
        let n = resolved.reduce(1) { $0 * shape[$1] }
        return try deviations.sum(alongAxes: resolved, keepingDimensions: keepingDimensions) / Scalar(Swift.max(n - correction, 0))
    }

    /// The variance along one axis.
    public func variance(alongAxis axis: Int, correction: Int = 0, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try variance(alongAxes: [axis], correction: correction, keepingDimensions: keepingDimensions)
    }

    /// The standard deviation along `axes`: the square root of ``variance(alongAxes:correction:keepingDimensions:)``.
    public func standardDeviation(alongAxes axes: [Int]? = nil, correction: Int = 0, keepingDimensions: Bool = false) throws(TensorError)
        -> Tensor
    {
        try variance(alongAxes: axes, correction: correction, keepingDimensions: keepingDimensions).sqrt()
    }

    /// The standard deviation along one axis.
    public func standardDeviation(alongAxis axis: Int, correction: Int = 0, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try standardDeviation(alongAxes: [axis], correction: correction, keepingDimensions: keepingDimensions)
    }

    /// log Σ eˣ along `axes`, computed as m + log Σ eˣ⁻ᵐ with m the maximum so that it neither
    /// overflows nor underflows.
    public func logSumExp(alongAxes axes: [Int]? = nil, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        let resolved =
            try axes.map { (list) throws(TensorError) -> [Int] in try normalizedAxes(list, rank: rank, operation: "logSumExp") }
            ?? Array(0..<rank)
        var peak = try max(alongAxes: resolved, keepingDimensions: true)
        // An all -∞ slice would give -∞ - -∞ = NaN; shifting it by 0 instead yields log 0 = -∞.
        peak = try Tensor.where(peak.isFiniteMask(), peak, Tensor(scalar: 0))
        let shifted = try (self - peak).exp().sum(alongAxes: resolved, keepingDimensions: true).log() + peak
        return keepingDimensions ? shifted : shifted.removingAxes(resolved)
    }

    /// log Σ eˣ along one axis.
    public func logSumExp(alongAxis axis: Int, keepingDimensions: Bool = false) throws(TensorError) -> Tensor {
        try logSumExp(alongAxes: [axis], keepingDimensions: keepingDimensions)
    }

    /// A mask of the finite elements (neither infinite nor NaN).
    public func isFiniteMask() -> Tensor<Bool> {
        let source = contiguous()
        let result = Tensor<Bool>(uninitializedShape: shape)
        let input = source.basePointer
        let output = result.basePointer
        for i in 0..<count { output[i] = input[i].isFinite }
        return result
    }
}
