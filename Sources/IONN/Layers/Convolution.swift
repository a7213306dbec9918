import IOTensor

/// A 2-D convolution over [batch, channels, height, width] inputs, computed as im2col followed by
/// one matrix product (GEMM). The weight has shape [outputs, inputs, kh, kw] and the bias
/// [outputs], as in PyTorch; the output is [batch, outputs, height′, width′].
public final class Conv2d<Scalar: LinearAlgebraScalar>: Layer {
    public let weight: Variable<Scalar>
    public let bias: Variable<Scalar>?
    public let stride: Int
    public let padding: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: (Int, Int), stride: Int = 1, padding: Int = 0, bias: Bool = true,
        initialization: Initialization = .fanInUniform, seed: UInt64
    ) throws {
        let fanIn = inputs * kernel.0 * kernel.1
        weight = Variable(
            try initialization.tensor(
                [outputs, inputs, kernel.0, kernel.1], fanIn: fanIn, fanOut: outputs * kernel.0 * kernel.1, seed: seed),
            requiresGradient: true)
        self.bias =
            bias
            ? Variable(
                try Initialization.fanInUniform.tensor([outputs], fanIn: fanIn, fanOut: outputs, seed: seed &+ 1), requiresGradient: true)
            : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        let (outputs, inputs, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard input.rank == 4, input.shape[1] == inputs else {
            throw AutogradError.shapeMismatch(operation: "Conv2d", expected: [input.shape.first ?? 0, inputs, kh, kw], actual: input.shape)
        }
        let window = try Window2D(input.shape, kernel: (kh, kw), stride: stride, padding: padding, operation: "Conv2d")
        // One GEMM over every window of every image: [N·P, C·kh·kw] × [C·kh·kw, O], as a linear
        // layer, so that BLAS adds the bias and the weight's gradient comes out in its own layout.
        let columns = try input.im2col(kernel: (kh, kw), stride: stride, padding: padding)
            .reshaped([window.batch * window.positions, window.patch])
        let product = try columns.linear(weight: weight.reshaped([outputs, window.patch]), bias: bias)  // [N·P, O]
        // Channels first: a tiled transposing copy (and its reverse for the gradient).
        return try product.reshaped([window.batch, window.positions, outputs]).permuted([0, 2, 1])
            .reshaped([window.batch, outputs, window.outputHeight, window.outputWidth])
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

/// The maximum over each `kernel` window (stride = kernel by default).
public final class MaxPool2d<Scalar: LinearAlgebraScalar>: Layer {
    public let kernel: (Int, Int)
    public let stride: Int?
    public let padding: Int
    public init(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) {
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        try input.maxPool2d(kernel: kernel, stride: stride, padding: padding)
    }
}

/// The mean over each `kernel` window (stride = kernel by default).
public final class AvgPool2d<Scalar: LinearAlgebraScalar>: Layer {
    public let kernel: (Int, Int)
    public let stride: Int?
    public let padding: Int
    public init(kernel: (Int, Int), stride: Int? = nil, padding: Int = 0) {
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }
    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        try input.avgPool2d(kernel: kernel, stride: stride, padding: padding)
    }
}
