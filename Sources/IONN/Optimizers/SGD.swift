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
    /// The velocity of each parameter (with momentum).
    var velocities: [[Scalar]]

    public init(
        _ parameters: [Variable<Scalar>], learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocities = parameters.map { _ in [] }
    }

    public func step() throws {
        let (rate, mu, decay) = (Scalar(learningRate), Scalar(momentum), Scalar(weightDecay))
        for (index, parameter) in parameters.enumerated() {
            guard parameter.gradient != nil else { continue }
            var velocity = velocities[index]
            if momentum != 0 && velocity.isEmpty { velocity = [Scalar](repeating: 0, count: parameter.value.count) }
            parameter.withGradient { gradient in
                parameter.update { theta in
                    for i in theta.indices {
                        var g = gradient[i] + decay * theta[i]
                        if mu != 0 {
                            velocity[i] = mu * velocity[i] + g
                            g = nesterov ? g + mu * velocity[i] : velocity[i]
                        }
                        theta[i] -= rate * g
                    }
                }
            }
            velocities[index] = velocity
        }
    }
}

extension SGD {
    public func stateDictionary() -> [String: Tensor<Scalar>] { buffers("velocity", velocities) }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        velocities = try loadBuffers("velocity", from: state, optional: true)
    }
}
