import IOTensor

/// Stochastic gradient descent with optional momentum (heavy-ball or Nesterov) and L2 weight
/// decay, with PyTorch's update rule:
/// g ← ∇ + λθ; v ← μv + g; θ ← θ − η·(Nesterov ? g + μv : v).
public final class SGD<Scalar: LinearAlgebraScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let momentum: Double
    public let nesterov: Bool
    public let weightDecay: Double
    /// The velocity of each parameter (with momentum; nil until its first step).
    var velocities: [Tensor<Scalar>?]

    public init(
        _ parameters: [Variable<Scalar>], learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocities = parameters.map { _ in nil }
    }

    public func step() throws {
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            // The velocity leaves the array while it is written, so that its buffer is unique.
            var states: [Tensor<Scalar>] = []
            if momentum != 0 {
                states = [try velocities[index] ?? Tensor.zeros(parameter.shape)]
                velocities[index] = nil
            }
            try parameter.applyUpdate(
                .sgd(rate: learningRate, momentum: momentum, nesterov: nesterov, decay: weightDecay), gradient: gradient, states: &states)
            if momentum != 0 { velocities[index] = states[0] }
        }
    }
}

extension SGD {
    public func stateDictionary() -> [String: Tensor<Scalar>] { buffers("velocity", velocities) }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        velocities = try loadBuffers("velocity", from: state, optional: true)
    }
}
