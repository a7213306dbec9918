import IOTensor

// Elementwise arithmetic with NumPy broadcasting; gradients are summed back to each input's shape.

extension Variable {
    public static func + (lhs: Variable, rhs: Variable) throws -> Variable {
        let (a, b) = (lhs.shape, rhs.shape)
        return result(try lhs.value + rhs.value, "add", [lhs, rhs]) { g in
            [try g.reduced(toShape: a), try g.reduced(toShape: b)]
        }
    }

    public static func - (lhs: Variable, rhs: Variable) throws -> Variable {
        let (a, b) = (lhs.shape, rhs.shape)
        return result(try lhs.value - rhs.value, "subtract", [lhs, rhs]) { g in
            [try g.reduced(toShape: a), try (Scalar(0) - g).reduced(toShape: b)]
        }
    }

    public static func * (lhs: Variable, rhs: Variable) throws -> Variable {
        let (x, y) = (lhs.value, rhs.value)
        return result(try x * y, "multiply", [lhs, rhs]) { g in
            [try (g * y).reduced(toShape: x.shape), try (g * x).reduced(toShape: y.shape)]
        }
    }

    public static func / (lhs: Variable, rhs: Variable) throws -> Variable {
        let (x, y) = (lhs.value, rhs.value)
        return result(try x / y, "divide", [lhs, rhs]) { g in
            let dx = try g / y
            let dy = try Scalar(0) - (dx * x) / y
            return [try dx.reduced(toShape: x.shape), try dy.reduced(toShape: y.shape)]
        }
    }

    public static prefix func - (operand: Variable) -> Variable {
        result(Scalar(0) - operand.value, "negate", [operand]) { g in [Scalar(0) - g] }
    }

    public static func + (lhs: Variable, rhs: Scalar) -> Variable {
        result(lhs.value + rhs, "add scalar", [lhs]) { g in [g] }
    }

    public static func + (lhs: Scalar, rhs: Variable) -> Variable { rhs + lhs }

    public static func - (lhs: Variable, rhs: Scalar) -> Variable {
        result(lhs.value - rhs, "subtract scalar", [lhs]) { g in [g] }
    }

    public static func - (lhs: Scalar, rhs: Variable) -> Variable {
        result(lhs - rhs.value, "subtract from scalar", [rhs]) { g in [Scalar(0) - g] }
    }

    public static func * (lhs: Variable, rhs: Scalar) -> Variable {
        result(lhs.value * rhs, "multiply by scalar", [lhs]) { g in [g * rhs] }
    }

    public static func * (lhs: Scalar, rhs: Variable) -> Variable { rhs * lhs }

    public static func / (lhs: Variable, rhs: Scalar) -> Variable {
        result(lhs.value / rhs, "divide by scalar", [lhs]) { g in [g / rhs] }
    }

    /// The matrix product, with PyTorch's rules: vectors are promoted and the promoted axis
    /// removed, leading (batch) axes broadcast.
    public func matmul(_ other: Variable) throws -> Variable {
        if rank == 1 && other.rank == 1 { return try (self * other).sum() }
        if rank == 1 {
            return try unsqueezed(at: 0).matmul(other).squeezed(axis: -2)
        }
        if other.rank == 1 {
            return try matmul(other.unsqueezed(at: 1)).squeezed(axis: -1)
        }
        let (x, y) = (value, other.value)
        // Products nobody needs are skipped (an input, or a layer's patches, needs no gradient).
        let (needsX, needsY) = (requiresGradient, other.requiresGradient)
        return Self.result(try x.matmul(y), "matmul", [self, other]) { g in
            [
                needsX ? try g.matmul(y.transposed()).reduced(toShape: x.shape) : nil,
                needsY ? try x.transposed().matmul(g).reduced(toShape: y.shape) : nil,
            ]
        }
    }

    /// The number of dimensions.
    public var rank: Int { value.rank }
}

extension Variable {
    /// x·Wᵀ + b for a weight of shape [outputs, inputs] and an optional bias [outputs], over
    /// the last axis of x, as one operation: its backward computes dW = gᵀ·x directly in the
    /// weight's layout (no transposed copies) and db by one column sum.
    public func linear(weight: Variable, bias: Variable?) throws -> Variable {
        guard rank >= 1, weight.rank == 2, shape.last == weight.shape[1] else {
            throw AutogradError.shapeMismatch(operation: "linear", expected: [weight.shape.count == 2 ? weight.shape[1] : 0], actual: shape)
        }
        let inputShape = shape
        let rows = value.count / Swift.max(weight.shape[1], 1)
        let x = try value.reshaped([rows, weight.shape[1]])
        let w = weight.value
        let output = try bias.map { try x.matmul(w.transposed(), adding: $0.value) } ?? x.matmul(w.transposed())
        let outputShape = Array(inputShape.dropLast()) + [weight.shape[0]]
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let needsInput = requiresGradient
        return Self.result(try output.reshaped(outputShape), "linear", inputs) { g in
            let g2 = try g.reshaped([rows, w.shape[0]])
            var gradients: [Tensor<Scalar>?] = [
                needsInput ? try g2.matmul(w).reshaped(inputShape) : nil,
                try g2.transposed().matmul(x),
            ]
            if bias != nil { gradients.append(try g2.sum(alongAxis: 0)) }
            return gradients
        }
    }
}
