import IOTensor

extension Variable {
    /// The sliding-window patches of a [batch, channels, height, width] input as
    /// [batch, positions, channels·kh·kw] (zero outside the padded border): a convolution is then
    /// one matrix product. The gradient adds each patch element back where it came from.
    public func im2col(kernel: (Int, Int), stride: Int = 1, padding: Int = 0) throws -> Variable {
        let window = try Window2D(shape, kernel: kernel, stride: stride, padding: padding, operation: "im2col")
        return Self.result(try value.im2col(window), "im2col", [self]) { g in [try g.col2im(window)] }
    }

    /// The maximum over each window of a [batch, channels, height, width] input; the gradient
    /// goes to the position of each maximum (the first one on ties).
    public func maxPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws -> Variable {
        let (output, winners) = try value.maxPool2d(kernel: kernel, stride: stride, padding: padding)
        let inputShape = shape
        return Self.result(output, "maxPool2d", [self]) { g in
            [
                try Tensor.maxPool2dGradient(
                    g, winners: winners, inputShape: inputShape, kernel: kernel, stride: stride, padding: padding)
            ]
        }
    }

    /// The mean over each window (padding counted as zeros, as in PyTorch's default).
    public func avgPool2d(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) throws -> Variable {
        let inputShape = shape
        return Self.result(try value.avgPool2d(kernel: kernel, stride: stride, padding: padding), "avgPool2d", [self]) { g in
            [try Tensor.avgPool2dGradient(g, inputShape: inputShape, kernel: kernel, stride: stride, padding: padding)]
        }
    }

    /// Elements picked along `axis` by `indices` (of this variable's rank; as PyTorch's
    /// `gather`). The gradient adds back into the picked positions (a scatter-add), so a position
    /// picked twice gets both contributions.
    public func gathering(_ indices: Tensor<Int>, alongAxis axis: Int) throws -> Variable {
        let output = try value.gathering(indices, alongAxis: axis)
        let resolved = axis < 0 ? axis + rank : axis
        let inputShape = shape
        return Self.result(output, "gather", [self]) { g in
            [try Tensor.scatterAdding(g, at: indices, alongAxis: resolved, into: inputShape)]
        }
    }
}
