import IOTensor

#if canImport(Glibc)
    import Glibc
#endif

/// Adam (Kingma and Ba, 2015) and, with `decoupledWeightDecay`, AdamW (Loshchilov and Hutter,
/// 2019), with PyTorch's update rule and bias correction.
public final class Adam<Scalar: LinearAlgebraScalar>: Optimizer {
    public let parameters: [Variable<Scalar>]
    public var learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    /// AdamW: decay the weights directly (θ ← θ − ηλθ) instead of adding λθ to the gradient.
    public let decoupledWeightDecay: Bool
    /// The steps taken so far.
    public internal(set) var steps = 0
    var firstMoments: [Tensor<Scalar>?]
    var secondMoments: [Tensor<Scalar>?]

    public init(
        _ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        firstMoments = parameters.map { _ in nil }
        secondMoments = parameters.map { _ in nil }
    }

    /// AdamW with PyTorch's default decay of 0.01.
    public static func adamW(_ parameters: [Variable<Scalar>], learningRate: Double = 1e-3, weightDecay: Double = 0.01) -> Adam {
        Adam(parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() throws {
        steps += 1
        let correction1 = 1 - Glibc.pow(beta1, Double(steps))
        let correction2 = 1 - Glibc.pow(beta2, Double(steps))
        // The step size and root2 carry the bias corrections; rounded to the scalar type as before.
        let stepSize = Double(Scalar(learningRate / correction1))
        let root2 = Double(Scalar(correction2.squareRoot()))
        let decay = decoupledWeightDecay ? 0 : weightDecay
        let decoupled = decoupledWeightDecay ? learningRate * weightDecay : 0
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = parameter.gradient else { continue }
            // The moments leave their arrays while they are written, so that their buffers are unique.
            var states = [
                try firstMoments[index] ?? Tensor.zeros(parameter.shape), try secondMoments[index] ?? Tensor.zeros(parameter.shape),
            ]
            (firstMoments[index], secondMoments[index]) = (nil, nil)
            try parameter.applyUpdate(
                .adam(
                    beta1: beta1, beta2: beta2, stepSize: stepSize, root2: root2, epsilon: epsilon, decay: decay,
                    decoupledDecay: decoupled), gradient: gradient, states: &states)
            (firstMoments[index], secondMoments[index]) = (states[0], states[1])
        }
    }
}

extension Adam {
    public func stateDictionary() -> [String: Tensor<Scalar>] {
        var state = buffers("m", firstMoments).merging(buffers("v", secondMoments)) { first, _ in first }
        state["steps"] = Tensor(scalar: Scalar(steps))
        return state
    }

    public func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError) {
        guard let saved = state["steps"], saved.count == 1, let count = Int(exactly: Double(saved.scalars[0])), count >= 0 else {
            throw .invalidOptimizerState("no step count")
        }
        let first = try loadBuffers("m", from: state, optional: true)
        let second = try loadBuffers("v", from: state, optional: true)
        (firstMoments, secondMoments, steps) = (first, second, count)
    }
}
