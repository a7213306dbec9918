import IOTensor

/// max(x, 0).
public final class ReLU<Scalar: LinearAlgebraScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { input.relu() }
}

/// x·Φ(x) with the exact error function (PyTorch's default GELU).
public final class GELU<Scalar: LinearAlgebraScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { try input.gelu() }
}

/// The hyperbolic tangent.
public final class Tanh<Scalar: LinearAlgebraScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { input.tanh() }
}

/// 1 / (1 + e⁻ˣ).
public final class Sigmoid<Scalar: LinearAlgebraScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { input.sigmoid() }
}

/// The softmax along `axis` (the last by default), computed stably.
public final class Softmax<Scalar: LinearAlgebraScalar>: Layer {
    public let axis: Int
    public init(axis: Int = -1) { self.axis = axis }
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { try input.softmax(alongAxis: axis) }
}

/// Every axis after the first (the batch) flattened into one.
public final class Flatten<Scalar: LinearAlgebraScalar>: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> { try input.flattened(startAxis: 1) }
}

/// In training, zeroes each element with probability `probability` and scales the rest by
/// 1/(1 − probability); in evaluation, passes its input through. Seeded: the n-th call in
/// training draws its mask from `seed` and n, so a run repeats exactly.
public final class Dropout<Scalar: LinearAlgebraScalar>: Layer {
    public let probability: Double
    private let seed: UInt64
    private var calls: UInt64 = 0
    private var isTraining = true

    /// A `probability` outside [0, 1) is clamped into it.
    public init(probability: Double, seed: UInt64) {
        self.probability = Swift.min(Swift.max(probability, 0), 0.999_999)
        self.seed = seed
    }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        guard isTraining, probability > 0 else { return input }
        calls &+= 1
        let keep = Scalar(1 - probability)
        let mask = try Tensor<Scalar>.randomBernoulli(input.shape, probability: keep, seed: seed &+ calls &* 0x9E37_79B9_7F4A_7C15)
        return try input * Variable(mask / keep)
    }

    public func setTraining(_ training: Bool) { isTraining = training }
}
