// Tensors made from nothing: constant fills, identity matrices, ranges.

extension Tensor {
    /// A tensor of the given shape filled with zeros (or `false`).
    public static func zeros(_ shape: [Int]) throws(TensorError) -> Tensor {
        try Tensor(repeating: Scalar.zeroValue, shape: shape)
    }

    /// A tensor of the given shape filled with `value`.
    public static func full(_ shape: [Int], _ value: Scalar) throws(TensorError) -> Tensor {
        try Tensor(repeating: value, shape: shape)
    }
}

extension Tensor where Scalar: NumericScalar {
    /// A tensor of the given shape filled with ones.
    public static func ones(_ shape: [Int]) throws(TensorError) -> Tensor {
        try Tensor(repeating: 1, shape: shape)
    }

    /// The `n`×`n` identity matrix, or `n`×`columns` with ones on the main diagonal.
    public static func eye(_ n: Int, columns: Int? = nil) throws(TensorError) -> Tensor {
        let width = columns ?? n
        var result = try zeros([n, width])
        let pointer = result.basePointer
        for i in 0..<Swift.min(n, width) { pointer[i * width + i] = 1 }
        result.strides = contiguousStrides([n, width])
        return result
    }

    /// The values `start`, `start + step`, … below `end` (NumPy's `arange`).
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` for a zero step.
    public static func arange(_ start: Scalar, _ end: Scalar, step: Scalar = 1) throws(TensorError) -> Tensor {
        guard step != .zero else { throw .invalidArgument(operation: "arange", reason: "step must not be zero") }
        let span = ((end.doubleValue - start.doubleValue) / step.doubleValue).rounded(.up)
        guard span.isFinite && span < Double(Int.max / 16) else {
            throw .invalidArgument(operation: "arange", reason: "\(start)..<\(end) in steps of \(step) has too many elements")
        }
        let count = Swift.max(0, Int(span))
        try validate(shape: [count], operation: "arange")
        var result = Tensor(uninitializedShape: [count])
        let pointer = result.basePointer
        for i in 0..<count { pointer[i] = Scalar(converting: start.doubleValue + Double(i) * step.doubleValue) }
        result.strides = [1]
        return result
    }

    /// The values 0, 1, …, `end - 1`.
    public static func arange(_ end: Scalar) throws(TensorError) -> Tensor { try arange(0, end) }
}

extension Tensor where Scalar: FloatingScalar {
    /// `count` evenly spaced values from `start` to `end`, both included (NumPy's `linspace`).
    public static func linspace(_ start: Scalar, _ end: Scalar, count: Int) throws(TensorError) -> Tensor {
        guard count >= 0 else { throw .invalidArgument(operation: "linspace", reason: "count \(count) is negative") }
        try validate(shape: [count], operation: "linspace")
        var result = Tensor(uninitializedShape: [count])
        let pointer = result.basePointer
        let step = count > 1 ? (end.doubleValue - start.doubleValue) / Double(count - 1) : 0
        for i in 0..<count { pointer[i] = Scalar(start.doubleValue + Double(i) * step) }
        if count > 1 { pointer[count - 1] = end }
        result.strides = [1]
        return result
    }
}

extension Tensor where Scalar: NumericScalar {
    /// This tensor's values converted to another numeric type (`Tensor<Float>(…).converted(to: Double.self)`).
    /// Conversion to an integer type rounds toward zero and saturates.
    public func converted<Target: NumericScalar>(to type: Target.Type) -> Tensor<Target> {
        let source = contiguous()
        let result = Tensor<Target>(uninitializedShape: shape)
        let input = source.basePointer
        let output = result.basePointer
        if let floats = input as? UnsafeMutablePointer<Float>, let doubles = output as? UnsafeMutablePointer<Double> {
            for i in 0..<count { doubles[i] = Double(floats[i]) }
        } else if let doubles = input as? UnsafeMutablePointer<Double>, let floats = output as? UnsafeMutablePointer<Float> {
            for i in 0..<count { floats[i] = Float(doubles[i]) }
        } else {
            for i in 0..<count { output[i] = Target(converting: input[i].doubleValue) }
        }
        return result
    }
}

extension Tensor where Scalar == Bool {
    /// The mask as numbers: 1 where true, 0 where false.
    public func converted<Target: NumericScalar>(to type: Target.Type) -> Tensor<Target> {
        let source = contiguous()
        let result = Tensor<Target>(uninitializedShape: shape)
        let input = source.basePointer
        let output = result.basePointer
        for i in 0..<count { output[i] = input[i] ? 1 : 0 }
        return result
    }
}
