// Elementwise arithmetic with NumPy broadcasting.
//
// Operators between two tensors throw `TensorError.shapeMismatch` when the shapes cannot be
// broadcast; operators with a scalar cannot fail and do not throw. One `try` covers a whole
// expression: `let y = try (a * b + c).exp()`.

extension Tensor where Scalar: NumericScalar {
    /// `operation` applied to `a` and `b` broadcast to `shape`, which must be their broadcast shape.
    static func applyBinary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor {
        if let result = DeviceDispatch.elementwise(
            .binary(operation), dtype: Scalar.dtype, shape: shape, on: a.backend ?? b.backend, [a, b], as: Scalar.self)
        {
            return result
        }
        let result = Tensor(uninitializedShape: shape)
        // Fast path for the common cases — same-shape contiguous operands, or a contiguous tensor
        // and a single value — without building a strided loop.
        if a.isContiguous && b.isContiguous && (a.shape == shape || a.count == 1) && (b.shape == shape || b.count == 1) {
            let left = SharedPointer(a.basePointer)
            let right = SharedPointer(b.basePointer)
            let output = SharedPointer(result.basePointer)
            let (strideA, strideB) = (a.count == 1 ? 0 : 1, b.count == 1 ? 0 : 1)
            Parallel.forEachChunk(result.count) { range in
                Scalar.kernels.binaryKernel(
                    operation, left.base + range.lowerBound * strideA, strideA,
                    right.base + range.lowerBound * strideB, strideB, output.base + range.lowerBound, range.count)
            }
            return result
        }
        let loop = StridedLoop(
            shape: shape, operandStrides: [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape)])
        let left = SharedPointer(a.basePointer)
        let right = SharedPointer(b.basePointer)
        let output = SharedPointer(result.basePointer)
        let strideA = loop.innerStride(0)
        let strideB = loop.innerStride(1)
        loop.run { start, offsets, length in
            Scalar.kernels.binaryKernel(
                operation, left.base + offsets.a, strideA, right.base + offsets.b, strideB, output.base + start, length)
        }
        return result
    }

    static func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor, name: String) throws(TensorError) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : try broadcastShapes(a.shape, b.shape, operation: name)
        return applyBinary(operation, a, b, shape: shape)
    }

    func unary(_ operation: UnaryOperation) -> Tensor {
        if let result = DeviceDispatch.elementwise(
            .unary(operation), dtype: Scalar.dtype, shape: shape, on: backend, [self], as: Scalar.self)
        {
            return result
        }
        let result = Tensor(uninitializedShape: shape)
        let input = SharedPointer(basePointer)
        let output = SharedPointer(result.basePointer)
        forEachSegment(cost: 1) { start, offset, step, length in
            Scalar.kernels.unaryKernel(operation, input.base + offset, step, output.base + start, length)
        }
        return result
    }

    /// Elementwise sum with broadcasting.
    public static func + (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(.add, lhs, rhs, name: "add") }
    /// Elementwise difference with broadcasting.
    public static func - (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(.subtract, lhs, rhs, name: "subtract") }
    /// Elementwise product with broadcasting.
    public static func * (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(.multiply, lhs, rhs, name: "multiply") }
    /// Elementwise quotient with broadcasting (integer division by zero gives 0).
    public static func / (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try binary(.divide, lhs, rhs, name: "divide") }

    /// Adds `rhs` to every element.
    public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { applyBinary(.add, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// Subtracts `rhs` from every element.
    public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { applyBinary(.subtract, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// Multiplies every element by `rhs`.
    public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { applyBinary(.multiply, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// Divides every element by `rhs`.
    public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { applyBinary(.divide, lhs, Tensor(scalar: rhs), shape: lhs.shape) }
    /// Adds every element to `lhs`.
    public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { applyBinary(.add, Tensor(scalar: lhs), rhs, shape: rhs.shape) }
    /// Subtracts every element from `lhs`.
    public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { applyBinary(.subtract, Tensor(scalar: lhs), rhs, shape: rhs.shape) }
    /// Multiplies `lhs` by every element.
    public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { applyBinary(.multiply, Tensor(scalar: lhs), rhs, shape: rhs.shape) }
    /// Divides `lhs` by every element.
    public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { applyBinary(.divide, Tensor(scalar: lhs), rhs, shape: rhs.shape) }

    /// Adds `rhs` into `lhs`; `rhs` must broadcast to `lhs`'s shape.
    public static func += (lhs: inout Tensor, rhs: Tensor) throws(TensorError) { lhs = try lhs.inPlace(.add, rhs, name: "add") }
    /// Subtracts `rhs` from `lhs`; `rhs` must broadcast to `lhs`'s shape.
    public static func -= (lhs: inout Tensor, rhs: Tensor) throws(TensorError) { lhs = try lhs.inPlace(.subtract, rhs, name: "subtract") }
    /// Multiplies `lhs` by `rhs`; `rhs` must broadcast to `lhs`'s shape.
    public static func *= (lhs: inout Tensor, rhs: Tensor) throws(TensorError) { lhs = try lhs.inPlace(.multiply, rhs, name: "multiply") }
    /// Divides `lhs` by `rhs`; `rhs` must broadcast to `lhs`'s shape.
    public static func /= (lhs: inout Tensor, rhs: Tensor) throws(TensorError) { lhs = try lhs.inPlace(.divide, rhs, name: "divide") }

    private func inPlace(_ operation: BinaryOperation, _ other: Tensor, name: String) throws(TensorError) -> Tensor {
        let shape = try broadcastShapes(self.shape, other.shape, operation: name)
        guard shape == self.shape else {
            throw .shapeMismatch(
                operation: name, lhs: self.shape, rhs: other.shape,
                reason: "an in-place result must keep the left operand's shape")
        }
        return Tensor.applyBinary(operation, self, other, shape: shape)
    }

    /// The negation of every element (wrapping for integers).
    public static prefix func - (operand: Tensor) -> Tensor { operand.unary(.negate) }

    /// The absolute value of every element.
    public func abs() -> Tensor { unary(.absolute) }
    /// `max(x, 0)` for every element; NaN stays NaN.
    public func relu() -> Tensor { unary(.relu) }
    /// The square of every element.
    public func squared() -> Tensor { unary(.square) }

    /// Every element raised to the matching element of `exponent`, with broadcasting.
    public func pow(_ exponent: Tensor) throws(TensorError) -> Tensor { try Tensor.binary(.power, self, exponent, name: "pow") }
    /// Every element raised to `exponent`.
    public func pow(_ exponent: Scalar) -> Tensor { Tensor.applyBinary(.power, self, Tensor(scalar: exponent), shape: shape) }

    /// The larger of each pair of elements, with broadcasting; NaN wins.
    public func maximum(_ other: Tensor) throws(TensorError) -> Tensor { try Tensor.binary(.maximum, self, other, name: "maximum") }
    /// The smaller of each pair of elements, with broadcasting; NaN wins.
    public func minimum(_ other: Tensor) throws(TensorError) -> Tensor { try Tensor.binary(.minimum, self, other, name: "minimum") }
    /// The larger of each element and `value`.
    public func maximum(_ value: Scalar) -> Tensor { Tensor.applyBinary(.maximum, self, Tensor(scalar: value), shape: shape) }
    /// The smaller of each element and `value`.
    public func minimum(_ value: Scalar) -> Tensor { Tensor.applyBinary(.minimum, self, Tensor(scalar: value), shape: shape) }

    /// Every element limited to `lower...upper`.
    ///
    /// - Throws: ``TensorError/invalidArgument(operation:reason:)`` when `lower > upper`.
    public func clamped(lower: Scalar, upper: Scalar) throws(TensorError) -> Tensor {
        guard lower <= upper else {
            throw .invalidArgument(operation: "clamp", reason: "lower bound \(lower) is above upper bound \(upper)")
        }
        return clamped(to: lower...upper)
    }

    /// Every element limited to `range`.
    public func clamped(to range: ClosedRange<Scalar>) -> Tensor {
        if backend != nil {
            // On a device: max then min, which keeps NaN as the CPU loop does.
            let raised = Tensor.applyBinary(.maximum, self, Tensor(scalar: range.lowerBound), shape: shape)
            return Tensor.applyBinary(.minimum, raised, Tensor(scalar: range.upperBound), shape: shape)
        }
        let result = Tensor(uninitializedShape: shape)
        let input = SharedPointer(basePointer)
        let output = SharedPointer(result.basePointer)
        forEachSegment(cost: 1) { start, offset, step, length in
            Scalar.kernels.clampKernel(
                input.base + offset, step, lower: range.lowerBound, upper: range.upperBound, output.base + start, length)
        }
        return result
    }
}

extension Tensor where Scalar: FloatingScalar {
    func floatingUnary(_ operation: FloatingUnaryOperation, cost: Int) -> Tensor {
        if let result = DeviceDispatch.elementwise(
            .floatingUnary(operation), dtype: Scalar.dtype, shape: shape, on: backend, [self], as: Scalar.self)
        {
            return result
        }
        let result = Tensor(uninitializedShape: shape)
        let input = SharedPointer(basePointer)
        let output = SharedPointer(result.basePointer)
        forEachSegment(cost: cost) { start, offset, step, length in
            Scalar.floatingRoutines.floatingUnaryKernel(operation, input.base + offset, step, output.base + start, length)
        }
        return result
    }

    /// eˣ for every element.
    public func exp() -> Tensor { floatingUnary(.exp, cost: 4) }
    /// The natural logarithm of every element (NaN below zero, -∞ at zero).
    public func log() -> Tensor { floatingUnary(.log, cost: 8) }
    /// The square root of every element (NaN below zero).
    public func sqrt() -> Tensor { floatingUnary(.sqrt, cost: 2) }
    /// The hyperbolic tangent of every element.
    public func tanh() -> Tensor { floatingUnary(.tanh, cost: 8) }
    /// The logistic function 1 / (1 + e⁻ˣ) of every element.
    public func sigmoid() -> Tensor { floatingUnary(.sigmoid, cost: 8) }

    /// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, elementwise (what the exact GELU is made of).
    public func erf() -> Tensor { floatingUnary(.erf, cost: 8) }
}
