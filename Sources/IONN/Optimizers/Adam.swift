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
    var firstMoments: [[Scalar]]
    var secondMoments: [[Scalar]]

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
        firstMoments = parameters.map { [Scalar](repeating: 0, count: $0.value.count) }
        secondMoments = parameters.map { [Scalar](repeating: 0, count: $0.value.count) }
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
        let (eps, decay, rate) = (Scalar(epsilon), Scalar(weightDecay), Scalar(learningRate))
        for (index, parameter) in parameters.enumerated() {
            guard parameter.gradient != nil else { continue }
            var m = firstMoments[index]
            var v = secondMoments[index]
            parameter.withGradient { gradient in
                parameter.update { theta in
                    for i in theta.indices {
                        var g = gradient[i]
                        if decoupledWeightDecay {
                            theta[i] -= rate * decay * theta[i]
                        } else {
                            g += decay * theta[i]
                        }
                        m[i] = b1 * m[i] + (1 - b1) * g
                        v[i] = b2 * v[i] + (1 - b2) * g * g
                        theta[i] -= stepSize * m[i] / ((v[i].squareRoot() / root2) + eps)
                    }
                }
            }
            firstMoments[index] = m
            secondMoments[index] = v
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
        let first = try loadBuffers("m", from: state)
        let second = try loadBuffers("v", from: state)
        (firstMoments, secondMoments, steps) = (first, second, count)
    }
}
