import IOTensor

/// How a layer's weights are drawn at creation: seeded, so that a model built twice with the
/// same seeds is the same model.
///
/// `fanIn` and `fanOut` are the numbers of inputs and outputs each weight connects (for a
/// convolution, times the kernel area).
public enum Initialization: Sendable, Equatable {
    /// U(−1/√fanIn, 1/√fanIn): PyTorch's default for `Linear` and `Conv2d` weights and biases.
    case fanInUniform
    /// He et al. (2015) for ReLU networks: U(−b, b) with b = √(6/fanIn).
    case kaimingUniform
    /// He et al. (2015): N(0, 2/fanIn).
    case kaimingNormal
    /// Glorot and Bengio (2010): U(−b, b) with b = √(6/(fanIn + fanOut)).
    case xavierUniform
    /// Glorot and Bengio (2010): N(0, 2/(fanIn + fanOut)).
    case xavierNormal
    /// All zeros.
    case zeros

    /// Weights of `shape` drawn from this distribution.
    public func tensor<Scalar: LinearAlgebraScalar>(
        _ shape: [Int], fanIn: Int, fanOut: Int, seed: UInt64
    ) throws -> Tensor<Scalar> {
        let fanIn = Double(Swift.max(fanIn, 1))
        let fanOut = Double(Swift.max(fanOut, 1))
        func uniform(_ bound: Double) throws -> Tensor<Scalar> {
            try Tensor.randomUniform(shape, lowerBound: Scalar(-bound), upperBound: Scalar(bound), seed: seed)
        }
        func normal(_ deviation: Double) throws -> Tensor<Scalar> {
            try Tensor.randomNormal(shape, mean: 0, standardDeviation: Scalar(deviation), seed: seed)
        }
        switch self {
        case .fanInUniform: return try uniform(1 / fanIn.squareRoot())
        case .kaimingUniform: return try uniform((6 / fanIn).squareRoot())
        case .kaimingNormal: return try normal((2 / fanIn).squareRoot())
        case .xavierUniform: return try uniform((6 / (fanIn + fanOut)).squareRoot())
        case .xavierNormal: return try normal((2 / (fanIn + fanOut)).squareRoot())
        case .zeros: return try Tensor.zeros(shape)
        }
    }
}
