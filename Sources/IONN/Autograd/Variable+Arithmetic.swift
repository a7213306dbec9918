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
        return Self.result(try x.matmul(y), "matmul", [self, other]) { g in
            [
                try g.matmul(y.transposed()).reduced(toShape: x.shape),
                try x.transposed().matmul(g).reduced(toShape: y.shape),
            ]
        }
    }

    /// The number of dimensions.
    public var rank: Int { value.rank }
}
