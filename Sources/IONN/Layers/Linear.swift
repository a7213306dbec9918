import IOTensor

/// y = x·Wᵀ + b, over the last axis of `x` (any leading axes are batch axes).
///
/// The weight has shape `[outputs, inputs]` and the bias `[outputs]`, as in PyTorch.
public final class Linear<Scalar: LinearAlgebraScalar>: Layer {
    public let weight: Variable<Scalar>
    public let bias: Variable<Scalar>?

    /// A layer from `inputs` to `outputs` features, its weights drawn by `initialization` with
    /// `seed` (the bias from PyTorch's default, with the next seed).
    public init(
        _ inputs: Int, _ outputs: Int, bias: Bool = true, initialization: Initialization = .fanInUniform, seed: UInt64
    ) throws {
        weight = Variable(
            try initialization.tensor([outputs, inputs], fanIn: inputs, fanOut: outputs, seed: seed), requiresGradient: true)
        self.bias =
            bias
            ? Variable(
                try Initialization.fanInUniform.tensor([outputs], fanIn: inputs, fanOut: outputs, seed: seed &+ 1), requiresGradient: true)
            : nil
    }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        guard input.shape.last == weight.shape[1] else {
            throw AutogradError.shapeMismatch(operation: "Linear", expected: [weight.shape[1]], actual: input.shape)
        }
        return try input.linear(weight: weight, bias: bias)
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}
