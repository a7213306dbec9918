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
        let (rate, mu, decay) = (Scalar(learningRate), Scalar(momentum), Scalar(weightDecay))
        for (index, parameter) in parameters.enumerated() {
            guard var g = parameter.gradient else { continue }
            let theta = parameter.value
            if weightDecay != 0 { g = try g + theta * decay }
            if momentum != 0 {
                let velocity = try velocities[index].map { try $0 * mu + g } ?? g
                velocities[index] = velocity
                g = nesterov ? try g + velocity * mu : velocity
            }
            try parameter.assign(try theta - g * rate)
        }
    }
}

extension SGD {
    public func stateDictionary() -> [String: Tensor<Scalar>] { buffers("velocity", velocities) }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        velocities = try loadBuffers("velocity", from: state, optional: true)
    }
}
