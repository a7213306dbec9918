import IONN
import IOTensor

/// An actor-critic network: a policy MLP and a separate value MLP (tanh hidden layers by
/// default, as Stable-Baselines3's), and for continuous actions a learned log standard deviation.
///
/// It lives on the CPU unless moved to an accelerator with ``to(_:)``; its
/// ``stateDictionary()`` is always in host memory, ready to send to env runners.
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
    /// Where the weights live and the learner's arithmetic runs.
    public private(set) var device: Device = .cpu

    /// A network of `spec`'s shape, its weights drawn with `seed`.
    public init(spec: PolicySpec, seed: UInt64) throws {
        try spec.validate()
        self.spec = spec
        actor = try Self.mlp(spec, outputs: spec.headSize, seed: seed, outputScale: 0.01)
        critic = try Self.mlp(spec, outputs: 1, seed: seed &+ 1000, outputScale: 1)
        logStandardDeviation =
            spec.actionSpace.choices == nil
            ? Variable(try Tensor(repeating: spec.initialLogStandardDeviation, shape: [spec.headSize]), requiresGradient: true) : nil
    }

    private static func mlp(_ spec: PolicySpec, outputs: Int, seed: UInt64, outputScale: Float) throws -> Sequential<Float> {
        var layers: [any Layer<Float>] = []
        var width = spec.observationDimension
        for (index, size) in spec.hiddenSizes.enumerated() {
            layers.append(try Linear(width, size, initialization: .xavierUniform, seed: seed &+ UInt64(index * 2)))
            switch spec.activation {
            case .tanh: layers.append(Tanh())
            case .relu: layers.append(ReLU())
            }
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

    /// Moves the weights (and any gradients) to `device` (`.opencl()`, `.cpu`), keeping the
    /// variables, so an optimizer made before keeps updating them; the forward and backward passes
    /// then run there.
    ///
    /// - Throws: `TensorError.device` when the device is missing or cannot hold the weights; the
    ///   network stays usable where it was.
    public func to(_ device: Device) throws {
        do {
            try actor.to(device)
            try critic.to(device)
            if let logStandardDeviation {
                try logStandardDeviation.assign(logStandardDeviation.value.to(device))
                if let gradient = logStandardDeviation.gradient { logStandardDeviation.gradient = try gradient.to(device) }
            }
            self.device = device
        } catch {
            try? actor.to(self.device)
            try? critic.to(self.device)
            if let logStandardDeviation { try? logStandardDeviation.assign(logStandardDeviation.value.to(self.device)) }
            throw error
        }
    }

    /// The weights by name (`actor.N.weight`, `critic.N.bias`, `logStd`), in host memory wherever
    /// the network lives.
    public func stateDictionary() -> [String: Tensor<Float>] {
        var state: [String: Tensor<Float>] = [:]
        func host(_ tensor: Tensor<Float>) -> Tensor<Float> { (try? tensor.to(.cpu)) ?? tensor }
        for (name, tensor) in actor.stateDictionary() { state["actor.\(name)"] = host(tensor) }
        for (name, tensor) in critic.stateDictionary() { state["critic.\(name)"] = host(tensor) }
        if let logStandardDeviation { state["logStd"] = host(logStandardDeviation.value) }
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
        if device != .cpu { try to(device) }
    }

    /// `scalars` as a variable of `shape` on the network's device: a learner's batch, uploaded once
    /// however many operations read it.
    public func constant(_ scalars: [Float], shape: [Int]) throws -> Variable<Float> {
        Variable(try Tensor(shape: shape, scalars: scalars).to(device))
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
            let input = try constant(observations, shape: [count, spec.observationDimension])
            let distribution = try distribution(input)
            let actions = greedy ? distribution.mode() : try distribution.sample(using: &random)
            let logProbabilities = try distribution.logProbability(of: actions).value.scalars
            return (actions, logProbabilities, try values(input).value.scalars)
        }
    }

    /// State values for a flat batch of observations, without recording gradients.
    public func values(of observations: [Float], count: Int) throws -> [Float] {
        try withoutGradients {
            try values(try constant(observations, shape: [count, spec.observationDimension])).value.scalars
        }
    }
}
