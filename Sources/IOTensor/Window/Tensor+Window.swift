// Sliding-window operations: the patches of a convolution and their gradient, and the poolings
// with theirs. They run on the device of their input when it has the kernels, and otherwise on
// the CPU loops of `WindowKernels`.

extension Window2D {
    /// The windows of a pooling over an input of `shape` ([batch, channels, height, width]): each
    /// channel pooled on its own, so the window sees channels as batch entries and one channel.
    public static func pooling(_ shape: [Int], kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws(TensorError)
        -> Window2D
    {
        guard shape.count == 4 else {
            throw .invalidArgument(operation: "pool2d", reason: "expects [batch, channels, height, width], got \(shape)")
        }
        return try Window2D(
            [shape[0] * shape[1], 1, shape[2], shape[3]], kernel: kernel, stride: stride ?? kernel.0, padding: padding,
            operation: "pool2d")
    }
}

extension Tensor {
    fileprivate func check(shape expected: [Int], _ operation: String) throws(TensorError) {
        guard shape == expected else {
            throw .shapeMismatch(operation: operation, lhs: shape, rhs: expected, reason: "the window expects \(expected)")
        }
    }
}

extension Tensor where Scalar: LinearAlgebraScalar {
    /// The patches of `window` over this [batch, channels, height, width] tensor, as
    /// [batch, positions, channels·kh·kw] (zero outside the input): a convolution is then one
    /// matrix product with the weight seen as [outputs, channels·kh·kw].
    ///
    /// ```swift
    /// let window = try Window2D(images.shape, kernel: (3, 3), padding: 1)
    /// let columns = try images.im2col(window)        // [N, H·W, C·9]
    /// ```
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when this tensor's shape
    ///   is not the window's input shape.
    public func im2col(_ window: Window2D) throws(TensorError) -> Tensor {
        try check(shape: window.inputShape, "im2col")
        return try windowed(
            .im2col, window, [window.batch, window.positions, window.patch], others: [],
            float: { input, output in WindowKernels.im2col(input, output, window) },
            double: { input, output in WindowKernels.im2col(input, output, window) })
    }

    /// The inverse gathering of ``im2col(_:)`` for gradients: each patch element of this
    /// [batch, positions, patch] tensor added back at the input position it came from, as a
    /// [batch, channels, height, width] tensor.
    public func col2im(_ window: Window2D) throws(TensorError) -> Tensor {
        try check(shape: [window.batch, window.positions, window.patch], "col2im")
        return try windowed(
            .col2im, window, window.inputShape, others: [],
            float: { input, output in WindowKernels.col2im(input, output, window) },
            double: { input, output in WindowKernels.col2im(input, output, window) })
    }

    /// The maximum of each `kernel` window of each channel of this [batch, channels, height, width]
    /// tensor (stride = kernel height by default), and where it was: `winners` holds the flat
    /// index into this tensor of each maximum (the first one on ties), which
    /// ``maxPool2dGradient(_:winners:inputShape:kernel:stride:padding:)`` routes gradients back to.
    public func maxPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws(TensorError) -> (
        values: Tensor, winners: Tensor<Int>
    ) {
        let window = try Window2D.pooling(shape, kernel: kernel, stride: stride, padding: padding)
        let outputShape = [shape[0], shape[1], window.outputHeight, window.outputWidth]
        if let result = DeviceDispatch.run(
            "maxPool2d", on: backend,
            { backend in
                let values = try Tensor.allocated(on: backend, shape: outputShape, operation: "maxPool2d")
                let winners = try Tensor<Int>.allocated(on: backend, shape: outputShape, operation: "maxPool2d")
                if values.count > 0 {
                    try backend.window(
                        .maxPool, dtype: Scalar.dtype, window: window, inputs: [try contiguous().operand(on: backend, broadcastTo: shape)],
                        outputs: [values.outputStorage, winners.outputStorage])
                }
                return (values, winners)
            })
        {
            return result
        }
        var winners = Tensor<Int>(uninitializedShape: outputShape)
        let values = try winners.withUnsafeMutableBufferPointer { (best) throws(TensorError) in
            try concreteWindowed(
                outputShape, others: [],
                float: { input, output in WindowKernels.maxPool(input, output, window, best) },
                double: { input, output in WindowKernels.maxPool(input, output, window, best) })
        }
        return (values, winners)
    }

    /// The gradient of ``maxPool2d(kernel:stride:padding:)``: each element of `upstream` (shaped
    /// like the pooling's values) added at its window's winner, zero elsewhere.
    public static func maxPool2dGradient(
        _ upstream: Tensor, winners: Tensor<Int>, inputShape: [Int], kernel: (Int, Int), stride: Int? = nil, padding: Int = 0
    ) throws(TensorError) -> Tensor {
        let window = try Window2D.pooling(inputShape, kernel: kernel, stride: stride, padding: padding)
        let pooledShape = [inputShape[0], inputShape[1], window.outputHeight, window.outputWidth]
        try upstream.check(shape: pooledShape, "maxPool2dGradient")
        try winners.check(shape: pooledShape, "maxPool2dGradient")
        let indices = winners.contiguous()
        return try upstream.windowed(
            .maxPoolGradient, window, inputShape, others: [indices],
            float: { input, output in
                indices.withUnsafeBufferPointer { WindowKernels.maxPoolBackward(input, output, $0) }
            },
            double: { input, output in
                indices.withUnsafeBufferPointer { WindowKernels.maxPoolBackward(input, output, $0) }
            })
    }

    /// The mean of each `kernel` window of each channel (padding counted as zeros, as in
    /// PyTorch's default).
    public func avgPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws(TensorError) -> Tensor {
        let window = try Window2D.pooling(shape, kernel: kernel, stride: stride, padding: padding)
        return try windowed(
            .avgPool, window, [shape[0], shape[1], window.outputHeight, window.outputWidth], others: [],
            float: { input, output in WindowKernels.avgPool(input, output, window) },
            double: { input, output in WindowKernels.avgPool(input, output, window) })
    }

    /// The gradient of ``avgPool2d(kernel:stride:padding:)``: each window's gradient spread
    /// evenly over it.
    public static func avgPool2dGradient(
        _ upstream: Tensor, inputShape: [Int], kernel: (Int, Int), stride: Int? = nil, padding: Int = 0
    ) throws(TensorError) -> Tensor {
        let window = try Window2D.pooling(inputShape, kernel: kernel, stride: stride, padding: padding)
        try upstream.check(shape: [inputShape[0], inputShape[1], window.outputHeight, window.outputWidth], "avgPool2dGradient")
        return try upstream.windowed(
            .avgPoolGradient, window, inputShape, others: [],
            float: { input, output in WindowKernels.avgPoolBackward(input, output, window) },
            double: { input, output in WindowKernels.avgPoolBackward(input, output, window) })
    }

    // MARK: - Dispatch

    /// `operation` on this tensor's device when it has the kernel, else the CPU loop for the
    /// concrete scalar type (`others` are extra inputs the device kernel reads).
    private func windowed(
        _ operation: WindowOperation, _ window: Window2D, _ outputShape: [Int], others: [Tensor<Int>],
        float: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void,
        double: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
    ) throws(TensorError) -> Tensor {
        let deviceBackend = backend ?? others.lazy.compactMap(\.backend).first
        if let result = DeviceDispatch.run(
            "\(operation)", on: deviceBackend,
            { backend in
                let output = try Tensor.allocated(on: backend, shape: outputShape, operation: "\(operation)")
                if output.count > 0 {
                    let inputs =
                        [try contiguous().operand(on: backend, broadcastTo: shape)]
                        + (try others.map { try $0.contiguous().operand(on: backend, broadcastTo: $0.shape) })
                    try backend.window(operation, dtype: Scalar.dtype, window: window, inputs: inputs, outputs: [output.outputStorage])
                }
                return output
            })
        {
            return result
        }
        return try concreteWindowed(outputShape, others: others, float: float, double: double)
    }

    /// A new host tensor of `shape` written by the CPU loop for the concrete scalar type.
    private func concreteWindowed(
        _ outputShape: [Int], others: [Tensor<Int>],
        float: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void,
        double: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
    ) throws(TensorError) -> Tensor {
        let source = contiguous()
        var result = Tensor(uninitializedShape: outputShape)
        source.withUnsafeBufferPointer { input in
            result.withUnsafeMutableBufferPointer { output in
                if Scalar.self == Float.self {
                    input.withMemoryRebound(to: Float.self) { i in output.withMemoryRebound(to: Float.self) { o in float(i, o) } }
                } else {
                    input.withMemoryRebound(to: Double.self) { i in output.withMemoryRebound(to: Double.self) { o in double(i, o) } }
                }
            }
        }
        return result
    }
}
