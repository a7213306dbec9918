import IOTensor

#if canImport(Glibc)
    import Glibc
#endif

// Elementwise functions and activations.

extension Variable {
    public func exp() -> Variable {
        let output = value.exp()
        return Self.result(output, "exp", [self]) { g in [try g * output] }
    }

    /// The natural logarithm (of positive elements).
    public func log() -> Variable {
        let x = value
        return Self.result(x.log(), "log", [self]) { g in [try g / x] }
    }

    public func sqrt() -> Variable {
        let output = value.sqrt()
        return Self.result(output, "sqrt", [self]) { g in [try g / (output * Scalar(2))] }
    }

    /// Each element raised to `exponent`.
    public func pow(_ exponent: Scalar) -> Variable {
        let x = value
        return Self.result(x.pow(exponent), "pow", [self]) { g in [try g * (x.pow(exponent - 1) * exponent)] }
    }

    public func squared() -> Variable {
        let x = value
        return Self.result(x.squared(), "square", [self]) { g in [try g * (x * Scalar(2))] }
    }

    public func tanh() -> Variable {
        let output = value.tanh()
        return Self.result(output, "tanh", [self]) { g in [try g * (Scalar(1) - output.squared())] }
    }

    public func sigmoid() -> Variable {
        let output = value.sigmoid()
        return Self.result(output, "sigmoid", [self]) { g in [try g * (output * (Scalar(1) - output))] }
    }

    /// max(x, 0); the gradient at 0 is taken as 0, as in PyTorch.
    public func relu() -> Variable {
        let x = value
        return Self.result(x.relu(), "relu", [self]) { g in
            // On a device, two kernels there instead of the CPU loop on host copies.
            if x.device != .cpu { return [try Tensor.where(x .> 0, g, Tensor(scalar: 0))] }
            return [
                try concreteTensor(
                    combining: g, x, float: { ElementKernels.reluBackward($0, $1, $2) }, double: { ElementKernels.reluBackward($0, $1, $2) }
                )
            ]
        }
    }

    /// The Gaussian error linear unit x·Φ(x), with the exact error function (PyTorch's default).
    public func gelu() throws -> Variable {
        let x = value
        if x.device != .cpu { return try geluOnDevice() }
        let output = try x.map { $0 * Scalar.normalCDF($0) }
        return Self.result(output, "gelu", [self]) { g in
            [try g.zipMap(x) { gradient, input in gradient * (Scalar.normalCDF(input) + input * Scalar.normalPDF(input)) }]
        }
    }
}

extension Variable {
    /// GELU on a device, in elementwise kernels there: x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)), and
    /// the gradient Φ(x) + x·φ(x) with φ(x) = e^(−x²/2)/√(2π).
    fileprivate func geluOnDevice() throws -> Variable {
        let x = value
        let cdf = ((x * Scalar(0.5.squareRoot())).erf() + 1) * 0.5
        return Self.result(try x * cdf, "gelu", [self]) { g in
            let pdf = try (x * x * -0.5).exp() * Scalar(1 / (2 * Double.pi).squareRoot())
            return [try g * (try cdf + x * pdf)]
        }
    }
}

extension LinearAlgebraScalar {
    /// Φ(x), the standard normal distribution function.
    static func normalCDF(_ x: Self) -> Self {
        Self(0.5 * (1 + erf(Double(x) / 2.0.squareRoot())))
    }

    /// φ(x), the standard normal density.
    static func normalPDF(_ x: Self) -> Self {
        Self(Glibc.exp(-0.5 * Double(x) * Double(x)) / (2 * Double.pi).squareRoot())
    }
}

extension Tensor where Scalar: LinearAlgebraScalar {
    /// A new tensor of the same shape with `transform` applied to each element (row-major).
    func map(_ transform: (Scalar) -> Scalar) throws -> Tensor {
        let source = contiguous()
        return try source.withUnsafeBufferPointer { input in
            try Tensor(shape: shape) { output in
                for index in output.indices { output[index] = transform(input[index]) }
            }
        }
    }

    /// A new tensor of the same shape from pairs of elements of this one and `other` (same shape).
    func zipMap(_ other: Tensor, _ transform: (Scalar, Scalar) -> Scalar) throws -> Tensor {
        let (left, right) = (contiguous(), other.contiguous())
        precondition(left.shape == right.shape, "zipMap of \(left.shape) and \(right.shape)")
        return try left.withUnsafeBufferPointer { a in
            try right.withUnsafeBufferPointer { b in
                try Tensor(shape: shape) { output in
                    for index in output.indices { output[index] = transform(a[index], b[index]) }
                }
            }
        }
    }
}
