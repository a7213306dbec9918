import IOTensor

/// A building block of a model: a function of a variable with named parameters, in training or
/// evaluation mode.
///
/// Layers are classes (a model is shared by the optimizer that updates its parameters) and
/// compose with ``Sequential``. Parameter names follow PyTorch's (`weight`, `bias`, `0.weight` in
/// a sequence), so state dicts line up with PyTorch's.
public protocol Layer<Scalar>: AnyObject {
    associatedtype Scalar: LinearAlgebraScalar
    /// Applies the layer.
    func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar>
    /// The trainable parameters, with their names within this layer.
    var namedParameters: [(name: String, parameter: Variable<Scalar>)] { get }
    /// State that is saved with the parameters but not trained (batch norm's running
    /// statistics), with their names.
    var namedBuffers: [(name: String, buffer: Variable<Scalar>)] { get }
    /// Switches between training (dropout drops, batch norm uses batch statistics) and
    /// evaluation behaviour.
    func setTraining(_ training: Bool)
}

extension Layer {
    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] { [] }
    public var namedBuffers: [(name: String, buffer: Variable<Scalar>)] { [] }
    public func setTraining(_ training: Bool) {}

    /// The trainable parameters, in a stable order (what an optimizer takes).
    public var parameters: [Variable<Scalar>] { namedParameters.map(\.parameter) }

    /// Training mode.
    public func train() { setTraining(true) }

    /// Evaluation mode.
    public func eval() { setTraining(false) }

    /// Moves every parameter and buffer to `device` (`.opencl()`, `.cpu`), keeping the variables
    /// themselves — an optimizer made before keeps updating them. Layers then run where their
    /// parameters are; inputs on the CPU are moved along by the first operation that meets a
    /// parameter.
    ///
    /// - Throws: `TensorError.device` when the device is missing or cannot hold the tensors.
    public func to(_ device: Device) throws {
        for variable in parameters + namedBuffers.map(\.buffer) {
            try variable.assign(variable.value.to(device))
            if let gradient = variable.gradient { variable.gradient = try gradient.to(device) }
        }
    }
}

/// Layers applied one after another; their parameters are named by position (`0.weight`).
///
/// ```swift
/// let model = Sequential<Float>([Linear(64, 32, seed: 1), ReLU(), Linear(32, 10, seed: 2)])
/// let logits = try model(Variable(batch))
/// ```
public final class Sequential<Scalar: LinearAlgebraScalar>: Layer {
    public let layers: [any Layer<Scalar>]

    public init(_ layers: [any Layer<Scalar>]) { self.layers = layers }

    public func callAsFunction(_ input: Variable<Scalar>) throws -> Variable<Scalar> {
        try layers.reduce(input) { try $1($0) }
    }

    public var namedParameters: [(name: String, parameter: Variable<Scalar>)] {
        layers.enumerated().flatMap { index, layer in layer.namedParameters.map { ("\(index).\($0.name)", $0.parameter) } }
    }

    public var namedBuffers: [(name: String, buffer: Variable<Scalar>)] {
        layers.enumerated().flatMap { index, layer in layer.namedBuffers.map { ("\(index).\($0.name)", $0.buffer) } }
    }

    public func setTraining(_ training: Bool) {
        for layer in layers { layer.setTraining(training) }
    }
}
