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
        let (b1, b2) = (Scalar(beta1), Scalar(beta2))
        let correction1 = 1 - Glibc.pow(beta1, Double(steps))
        let correction2 = 1 - Glibc.pow(beta2, Double(steps))
        let stepSize = Scalar(learningRate / correction1)
        let root2 = Scalar(correction2.squareRoot())
        for (index, parameter) in parameters.enumerated() {
            guard var g = parameter.gradient else { continue }
            var theta = parameter.value
            if weightDecay != 0 {
                if decoupledWeightDecay {
                    theta = theta * (1 - Scalar(learningRate * weightDecay))
                } else {
                    g = try g + theta * Scalar(weightDecay)
                }
            }
            let m = try (firstMoments[index] ?? Tensor.zeros(theta.shape)) * b1 + g * (1 - b1)
            let v = try (secondMoments[index] ?? Tensor.zeros(theta.shape)) * b2 + g.squared() * (1 - b2)
            (firstMoments[index], secondMoments[index]) = (m, v)
            try parameter.assign(try theta - (m * stepSize) / (v.sqrt() / root2 + Scalar(epsilon)))
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
