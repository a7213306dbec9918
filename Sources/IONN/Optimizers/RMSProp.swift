import IOTensor

/// RMSProp (Hinton's lecture 6e), with PyTorch's rule: s ← αs + (1 − α)g²; θ ← θ − η·g/(√s + ε),
/// with optional L2 weight decay and momentum (v ← μv + g/(√s + ε); θ ← θ − ηv).
public final class RMSProp<Scalar: LinearAlgebraScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let alpha: Double
    public let epsilon: Double
    public let weightDecay: Double
    public let momentum: Double
    var squareAverages: [Tensor<Scalar>?]
    var velocities: [Tensor<Scalar>?]

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
        squareAverages = parameters.map { _ in nil }
        velocities = parameters.map { _ in nil }
    }

    public func step() throws {
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            // The state leaves its arrays while it is written, so that its buffers are unique.
            var states = [try squareAverages[index] ?? Tensor.zeros(parameter.shape)]
            if momentum != 0 { states.append(try velocities[index] ?? Tensor.zeros(parameter.shape)) }
            (squareAverages[index], velocities[index]) = (nil, nil)
            try parameter.applyUpdate(
                .rmsProp(rate: learningRate, alpha: alpha, epsilon: epsilon, decay: weightDecay, momentum: momentum), gradient: gradient,
                states: &states)
            squareAverages[index] = states[0]
            if momentum != 0 { velocities[index] = states[1] }
        }
    }
}

extension RMSProp {
    public func stateDictionary() -> [String: Tensor<Scalar>] {
        buffers("square", squareAverages).merging(buffers("velocity", velocities)) { first, _ in first }
    }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        squareAverages = try loadBuffers("square", from: state, optional: true)
        velocities = try loadBuffers("velocity", from: state, optional: true)
    }
}
