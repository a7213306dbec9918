import IOTensor

/// The geometry of a 2-D sliding window over [batch, channels, height, width] inputs.
struct Window2D: Equatable {
    let batch: Int, channels: Int, height: Int, width: Int
    let kernelHeight: Int, kernelWidth: Int
    let stride: Int, padding: Int

    var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    var positions: Int { outputHeight * outputWidth }
    var patch: Int { channels * kernelHeight * kernelWidth }

    init(_ shape: [Int], kernel: (Int, Int), stride: Int, padding: Int, operation: String) throws {
        guard shape.count == 4 else {
            throw TensorError.invalidArgument(operation: operation, reason: "expects [batch, channels, height, width], got \(shape)")
        }
        guard kernel.0 > 0, kernel.1 > 0, stride > 0, padding >= 0 else {
            throw TensorError.invalidArgument(operation: operation, reason: "kernel \(kernel), stride \(stride), padding \(padding)")
        }
        (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        (kernelHeight, kernelWidth, self.stride, self.padding) = (kernel.0, kernel.1, stride, padding)
        guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
            throw TensorError.invalidArgument(
                operation: operation, reason: "a \(kernel) window does not fit a \(height)×\(width) input padded by \(padding)")
        }
    }

    /// Calls `body(outputIndex, inputIndex)` for every (window position, patch element) pair
    /// that falls inside the input; `outputIndex` indexes [batch, positions, patch].
    func forEachPair(_ body: (Int, Int) -> Void) {
        for n in 0..<batch {
            for oy in 0..<outputHeight {
                for ox in 0..<outputWidth {
                    let row = (n * positions + oy * outputWidth + ox) * patch
                    for c in 0..<channels {
                        for ky in 0..<kernelHeight {
                            let y = oy * stride - padding + ky
                            guard y >= 0 && y < height else { continue }
                            for kx in 0..<kernelWidth {
                                let x = ox * stride - padding + kx
                                guard x >= 0 && x < width else { continue }
                                body(row + (c * kernelHeight + ky) * kernelWidth + kx, ((n * channels + c) * height + y) * width + x)
                            }
                        }
                    }
                }
            }
        }
    }
}

extension Variable {
    /// The sliding-window patches of a [batch, channels, height, width] input as
    /// [batch, positions, channels·kh·kw] (zero outside the padded border): a convolution is then
    /// one matrix product. The gradient adds each patch element back where it came from.
    public func im2col(kernel: (Int, Int), stride: Int = 1, padding: Int = 0) throws -> Variable {
        let window = try Window2D(shape, kernel: kernel, stride: stride, padding: padding, operation: "im2col")
        let columns = try concreteTensor(
            [window.batch, window.positions, window.patch], from: value,
            float: { WindowKernels.im2col($0, $1, window) }, double: { WindowKernels.im2col($0, $1, window) })
        let inputShape = shape
        return Self.result(columns, "im2col", [self]) { g in
            [
                try concreteTensor(
                    inputShape, from: g, float: { WindowKernels.col2im($0, $1, window) }, double: { WindowKernels.col2im($0, $1, window) })
            ]
        }
    }

    /// The maximum over each window of a [batch, channels, height, width] input; the gradient
    /// goes to the position of each maximum (the first one on ties).
    public func maxPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws -> Variable {
        let window = try poolingWindow(kernel: kernel, stride: stride ?? kernel.0, padding: padding)
        var winners: [Int] = []
        let output = try concreteTensor(
            pooledShape(window), from: value, float: { WindowKernels.maxPool($0, $1, window, &winners) },
            double: { WindowKernels.maxPool($0, $1, window, &winners) })
        let inputShape = shape
        let chosen = winners
        return Self.result(output, "maxPool2d", [self]) { g in
            [
                try concreteTensor(
                    inputShape, from: g, float: { WindowKernels.maxPoolBackward($0, $1, chosen) },
                    double: { WindowKernels.maxPoolBackward($0, $1, chosen) })
            ]
        }
    }

    /// The mean over each window (padding counted as zeros, as in PyTorch's default).
    public func avgPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws -> Variable {
        let window = try poolingWindow(kernel: kernel, stride: stride ?? kernel.0, padding: padding)
        let output = try concreteTensor(
            pooledShape(window), from: value, float: { WindowKernels.avgPool($0, $1, window) },
            double: { WindowKernels.avgPool($0, $1, window) })
        let inputShape = shape
        return Self.result(output, "avgPool2d", [self]) { g in
            [
                try concreteTensor(
                    inputShape, from: g, float: { WindowKernels.avgPoolBackward($0, $1, window) },
                    double: { WindowKernels.avgPoolBackward($0, $1, window) })
            ]
        }
    }

    /// The window of a pooling: channels become batch entries, so that each window covers one.
    private func poolingWindow(kernel: (Int, Int), stride: Int, padding: Int) throws -> Window2D {
        guard rank == 4 else {
            throw TensorError.invalidArgument(operation: "pool2d", reason: "expects [batch, channels, height, width], got \(shape)")
        }
        return try Window2D(
            [shape[0] * shape[1], 1, shape[2], shape[3]], kernel: kernel, stride: stride, padding: padding, operation: "pool2d")
    }

    private func pooledShape(_ window: Window2D) -> [Int] {
        [shape[0], shape[1], window.outputHeight, window.outputWidth]
    }

    /// Elements picked along `axis` by `indices` (of this variable's rank; as PyTorch's
    /// `gather`). The gradient adds back into the picked positions (a scatter-add), so a position
    /// picked twice gets both contributions.
    public func gathering(_ indices: Tensor<Int>, alongAxis axis: Int) throws -> Variable {
        let output = try value.gathering(indices, alongAxis: axis)
        let resolved = axis < 0 ? axis + rank : axis
        let inputShape = shape
        let positions = indices.contiguous().scalars
        return Self.result(output, "gather", [self]) { g in
            let gradient = g.contiguous().scalars
            let outputShape = indices.shape
            let inputStrides = Self.strides(inputShape)
            let outputStrides = Self.strides(outputShape)
            return [
                try Tensor<Scalar>(shape: inputShape) { result in
                    result.initialize(repeating: 0)
                    for flat in positions.indices {
                        var remainder = flat
                        var target = 0
                        for dimension in outputShape.indices {
                            let coordinate = remainder / outputStrides[dimension]
                            remainder %= outputStrides[dimension]
                            target += (dimension == resolved ? positions[flat] : coordinate) * inputStrides[dimension]
                        }
                        result[target] += gradient[flat]
                    }
                }
            ]
        }
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }
}
