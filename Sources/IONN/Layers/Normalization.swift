import IOTensor

/// Normalizes over the last `features` elements of each sample: (x − mean)/√(var + ε)·γ + β,
/// with the biased variance, as PyTorch's `LayerNorm(features)`.
public final class LayerNorm<Scalar: LinearAlgebraScalar>: Layer {
    public let weight: Variable<Scalar>
    public let bias: Variable<Scalar>
    public let epsilon: Scalar

    public init(_ features: Int, epsilon: Scalar = 1e-5) throws {
        weight = Variable(try Tensor(repeating: 1, shape: [features]), requiresGradient: true)
        bias = Variable(try Tensor.zeros([features]), requiresGradient: true)
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        guard input.shape.last == weight.shape[0] else {
            throw AutogradError.shapeMismatch(operation: "LayerNorm", expected: weight.shape, actual: input.shape)
        }
        let centered = try input - input.mean(alongAxes: [-1], keepingDimensions: true)
        let variance = try centered.squared().mean(alongAxes: [-1], keepingDimensions: true)
        return try centered / (variance + epsilon).sqrt() * weight + bias
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] { [("weight", weight), ("bias", bias)] }
}

/// Batch normalization of [batch, features] inputs (PyTorch's `BatchNorm1d`): in training,
/// normalizes with the batch's mean and biased variance and updates running estimates
/// (momentum 0.1, unbiased variance); in evaluation, normalizes with the running estimates.
public final class BatchNorm1d<Scalar: LinearAlgebraScalar>: Layer {
    public let weight: Variable<Scalar>
    public let bias: Variable<Scalar>
    public let runningMean: Variable<Scalar>
    public let runningVariance: Variable<Scalar>
    public let epsilon: Scalar
    public let momentum: Scalar
    private var isTraining = true

    public init(_ features: Int, epsilon: Scalar = 1e-5, momentum: Scalar = 0.1) throws {
        weight = Variable(try Tensor(repeating: 1, shape: [features]), requiresGradient: true)
        bias = Variable(try Tensor.zeros([features]), requiresGradient: true)
        runningMean = Variable(try Tensor.zeros([features]))
        runningVariance = Variable(try Tensor(repeating: 1, shape: [features]))
        self.epsilon = epsilon
        self.momentum = momentum
    }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        guard input.rank == 2, input.shape[1] == weight.shape[0] else {
            throw AutogradError.shapeMismatch(
                operation: "BatchNorm1d", expected: [input.shape.first ?? 0, weight.shape[0]], actual: input.shape)
        }
        guard isTraining else {
            let scale = try weight / Variable(runningVariance.value + epsilon).sqrt()
            return try (input - Variable(runningMean.value)) * scale + bias
        }
        let count = input.shape[0]
        guard count > 1 else {
            throw TensorError.invalidArgument(operation: "BatchNorm1d", reason: "training needs more than one sample per batch")
        }
        let mean = try input.mean(alongAxes: [0])
        let centered = try input - mean
        let variance = try centered.squared().mean(alongAxes: [0])
        try withoutGradients {
            let unbiased = variance.value * (Scalar(count) / Scalar(count - 1))
            try runningMean.assign(try runningMean.value * (1 - momentum) + mean.value * momentum)
            try runningVariance.assign(try runningVariance.value * (1 - momentum) + unbiased * momentum)
        }
        return try centered / (variance + epsilon).sqrt() * weight + bias
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] { [("weight", weight), ("bias", bias)] }
    public var namedBuffers: [(name: String, buffer: Variable<Scalar>)] {
        [("running_mean", runningMean), ("running_var", runningVariance)]
    }
    public func setTraining(_ training: Bool) { isTraining = training }
}

/// A table of `count` learned vectors of `dimension` elements, looked up by index: an input of
/// indices of shape S gives an output of shape S + [dimension]. The weight is [count, dimension]
/// drawn from N(0, 1), as in PyTorch.
public final class Embedding<Scalar: LinearAlgebraScalar>: Layer {
    public let weight: Variable<Scalar>

    public init(_ count: Int, _ dimension: Int, seed: UInt64) throws {
        weight = Variable(try Tensor.randomNormal([count, dimension], seed: seed), requiresGradient: true)
    }

    /// The vectors of `indices`.
    ///
    /// - Throws: `TensorError.indexOutOfRange` for an index outside the table.
    public func callAsFunction(_ indices: Tensor<Int>) throws -> Variable<Scalar> {
        let (count, dimension) = (weight.shape[0], weight.shape[1])
        let flat = indices.contiguous().scalars
        if let bad = flat.first(where: { $0 < 0 || $0 >= count }) {
            throw TensorError.indexOutOfRange(operation: "Embedding", index: bad, dimension: count)
        }
        let picks = try Tensor<Int>(shape: [flat.count, dimension]) { out in
            for (row, index) in flat.enumerated() {
                for column in 0..<dimension { out[row * dimension + column] = index }
            }
        }
        return try weight.gathering(picks, alongAxis: 0).reshaped(indices.shape + [dimension])
    }

    /// The vectors of the indices held (as whole numbers) in `input`.
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        let values = input.value.contiguous().scalars
        let indices = values.compactMap { Int(exactly: $0) }
        guard indices.count == values.count else {
            throw TensorError.invalidArgument(operation: "Embedding", reason: "indices must be whole numbers")
        }
        return try self(try Tensor(shape: input.shape, scalars: indices))
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] { [("weight", weight)] }
}
