import IONN
import IOTensor

/// An actor-critic network: a policy MLP and a separate value MLP (tanh hidden layers, as
/// Stable-Baselines3's default), and for continuous actions a learned log standard deviation.
///
/// The policy's output layer starts 100× smaller than the others, as in Stable-Baselines3 and
/// the PPO implementation-details study (Huang et al. 2022), so that a new policy is close to
/// uniform.
public final class ActorCritic {
    public let spec: PolicySpec
    /// Observations to logits (discrete) or to Gaussian means (continuous).
    public let actor: Sequential<Float>
    /// Observations to a state value, `[batch, 1]`.
    public let critic: Sequential<Float>
    /// The Gaussian head's log standard deviation, one per action dimension; `nil` for discrete
    /// actions.
    public let logStandardDeviation: Variable<Float>?

    /// A network of `spec`'s shape, its weights drawn with `seed`.
    public init(spec: PolicySpec, seed: UInt64) throws {
        try spec.validate()
        self.spec = spec
        actor = try Self.mlp(spec.observationDimension, spec.hiddenSizes, spec.headSize, seed: seed, outputScale: 0.01)
        critic = try Self.mlp(spec.observationDimension, spec.hiddenSizes, 1, seed: seed &+ 1000, outputScale: 1)
        logStandardDeviation =
            spec.actionSpace.choices == nil
            ? Variable(try Tensor(repeating: spec.initialLogStandardDeviation, shape: [spec.headSize]), requiresGradient: true) : nil
    }

    private static func mlp(_ inputs: Int, _ hidden: [Int], _ outputs: Int, seed: UInt64, outputScale: Float) throws -> Sequential<Float> {
        var layers: [any Layer<Float>] = []
        var width = inputs
        for (index, size) in hidden.enumerated() {
            layers.append(try Linear(width, size, initialization: .xavierUniform, seed: seed &+ UInt64(index * 2)))
            layers.append(Tanh())
            width = size
        }
        let output = try Linear<Float>(width, outputs, initialization: .xavierUniform, seed: seed &+ 97)
        try output.weight.assign(output.weight.value * outputScale)
        if let bias = output.bias { try bias.assign(try Tensor(repeating: 0, shape: bias.shape)) }
        layers.append(output)
        return Sequential(layers)
    }

    /// Every trainable parameter, for an optimizer.
    public var parameters: [Variable<Float>] { actor.parameters + critic.parameters + (logStandardDeviation.map { [$0] } ?? []) }

    /// The weights by name: `actor.N.weight`, `critic.N.bias`, `logStd`.
    public func stateDictionary() -> [String: Tensor<Float>] {
        var state: [String: Tensor<Float>] = [:]
        for (name, tensor) in actor.stateDictionary() { state["actor.\(name)"] = tensor }
        for (name, tensor) in critic.stateDictionary() { state["critic.\(name)"] = tensor }
        if let logStandardDeviation { state["logStd"] = logStandardDeviation.value }
        return state
    }

    /// Loads weights written by ``stateDictionary()`` of a network of the same spec.
    ///
    /// - Throws: `StateDictionaryError` for a missing tensor or one of the wrong shape.
    public func load(_ state: [String: Tensor<Float>]) throws {
        func part(_ prefix: String) -> [String: Tensor<Float>] {
            Dictionary(
                uniqueKeysWithValues: state.compactMap {
                    $0.key.hasPrefix(prefix) ? (String($0.key.dropFirst(prefix.count)), $0.value) : nil
                })
        }
        try actor.loadStateDictionary(part("actor."))
        try critic.loadStateDictionary(part("critic."))
        if let logStandardDeviation {
            guard let tensor = state["logStd"] else { throw StateDictionaryError.missing(name: "logStd") }
            guard tensor.shape == logStandardDeviation.shape else {
                throw StateDictionaryError.shapeMismatch(name: "logStd", expected: logStandardDeviation.shape, actual: tensor.shape)
            }
            try logStandardDeviation.assign(tensor)
        }
    }

    /// The action distribution for a batch of observations `[batch, observationDimension]`.
    public func distribution(_ observations: Variable<Float>) throws -> ActionDistribution {
        let head = try actor(observations)
        if let logStandardDeviation { return .gaussian(mean: head, logStandardDeviation: logStandardDeviation) }
        return .categorical(logits: head)
    }

    /// State values for a batch of observations, `[batch]`.
    public func values(_ observations: Variable<Float>) throws -> Variable<Float> {
        try critic(observations).reshaped([observations.shape[0]])
    }

    /// Actions for a flat batch of observations (`count` rows), drawn from the policy (or its
    /// most likely action when `greedy`), with their log-probabilities and the state values.
    public func act(_ observations: [Float], count: Int, greedy: Bool = false, random: inout SplitMix64) throws -> (
        actions: ActionBatch, logProbabilities: [Float], values: [Float]
    ) {
        try withoutGradients {
            let input = Variable(try Tensor(shape: [count, spec.observationDimension], scalars: observations))
            let distribution = try distribution(input)
            let actions = greedy ? distribution.mode() : try distribution.sample(using: &random)
            let logProbabilities = try distribution.logProbability(of: actions).value.scalars
            return (actions, logProbabilities, try values(input).value.scalars)
        }
    }

    /// State values for a flat batch of observations, without recording gradients.
    public func values(of observations: [Float], count: Int) throws -> [Float] {
        try withoutGradients {
            try values(Variable(try Tensor(shape: [count, spec.observationDimension], scalars: observations))).value.scalars
        }
    }
}
