import IOTensor

/// RMSProp (Hinton's lecture 6e), with PyTorch's rule: s ← αs + (1 − α)g²; θ ← θ − η·g/(√s + ε),
/// with optional L2 weight decay and momentum.
public final class RMSProp<Scalar: LinearAlgebraScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let alpha: Double
    public let epsilon: Double
    public let weightDecay: Double
    public let momentum: Double
    var squareAverages: [[Scalar]]
    var velocities: [[Scalar]]

    public init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8,
        weightDecay: Double = 0, momentum: Double = 0
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        squareAverages = parameters.map { [Scalar](repeating: 0, count: $0.value.count) }
        velocities = parameters.map { [Scalar](repeating: 0, count: momentum == 0 ? 0 : $0.value.count) }
    }

    public func step() throws {
        let (rate, a, eps, decay, mu) = (Scalar(learningRate), Scalar(alpha), Scalar(epsilon), Scalar(weightDecay), Scalar(momentum))
        for (index, parameter) in parameters.enumerated() {
            guard parameter.gradient != nil else { continue }
            var s = squareAverages[index]
            var v = velocities[index]
            parameter.withGradient { gradient in
                parameter.update { theta in
                    for i in theta.indices {
                        let g = gradient[i] + decay * theta[i]
                        s[i] = a * s[i] + (1 - a) * g * g
                        let update = g / (s[i].squareRoot() + eps)
                        if mu != 0 {
                            v[i] = mu * v[i] + update
                            theta[i] -= rate * v[i]
                        } else {
                            theta[i] -= rate * update
                        }
                    }
                }
            }
            squareAverages[index] = s
            velocities[index] = v
        }
    }
}

extension RMSProp {
    public func stateDictionary() -> [String: Tensor<Scalar>] {
        buffers("square", squareAverages).merging(buffers("velocity", velocities)) { first, _ in first }
    }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        let squares = try loadBuffers("square", from: state)
        let saved = try loadBuffers("velocity", from: state, optional: true)
        squareAverages = squares
        velocities = zip(saved, parameters).map { buffer, parameter in
            buffer.isEmpty && momentum != 0 ? [Scalar](repeating: 0, count: parameter.value.count) : buffer
        }
    }
}
