import IONN
import IORuntime
import IOTensor

/// REINFORCE's settings (Williams 1992): the policy gradient of log π(a|s)·(G − b(s)), with the
/// critic as the baseline b.
public struct REINFORCEConfiguration: Sendable, Equatable {
    public var discount = 0.99
    public var learningRate = LearningRateSchedule.constant(base: 1e-3)
    /// Subtract the critic's value from the return (and train the critic on the returns).
    public var usesBaseline = true
    /// Standardise the weights G − b across the batch.
    public var normalizeReturns = true
    public var entropyCoefficient = 0.0
    public var maxGradientNorm = 1.0

    public init() {}
}

/// The learner side of REINFORCE: one gradient step per batch of rollouts, on the discounted
/// returns to go (bootstrapped from the critic at the end of a rollout and at truncations).
public final class REINFORCELearner: OnPolicyLearner {
    public let network: ActorCritic
    public let optimizer: Adam<Float>
    public let configuration: REINFORCEConfiguration
    public private(set) var version = 0

    /// A learner for a new network of `spec`, trained on `device` (the CPU, or `.opencl()`).
    public init(spec: PolicySpec, configuration: REINFORCEConfiguration, seed: UInt64, device: Device = .cpu) throws {
        guard configuration.discount > 0, configuration.discount <= 1, configuration.maxGradientNorm > 0 else {
            throw ReinforcementLearningError.invalidConfiguration("REINFORCE needs 0 < γ ≤ 1 and a positive gradient norm")
        }
        network = try ActorCritic(spec: spec, seed: seed)
        try network.to(device)
        optimizer = Adam(network.parameters, learningRate: configuration.learningRate.rate(atStep: 0))
        self.configuration = configuration
    }

    public func restore(version: Int) { self.version = version }

    public func update(_ rollouts: [Rollout]) throws -> UpdateStatistics {
        var observations: [Float] = []
        var returns: [Float] = []
        var actions: [ActionBatch] = []
        for rollout in rollouts {
            try rollout.validate()
            observations += rollout.observations
            returns += Advantages.discountedReturns(
                rewards: rollout.rewards, terminated: rollout.terminated, truncated: rollout.truncated,
                truncationValues: rollout.truncationValues, lastValues: rollout.lastValues, environments: rollout.environments,
                discount: configuration.discount)
            actions.append(rollout.actions)
        }
        let count = returns.count
        guard count > 0 else { throw ReinforcementLearningError.invalidConfiguration("no rollouts to learn from") }
        let input = try network.constant(observations, shape: [count, network.spec.observationDimension])
        let values = try network.values(input)
        var weights = zip(returns, values.value.scalars).map { configuration.usesBaseline ? $0 - $1 : $0 }
        if configuration.normalizeReturns && count > 1 {
            let mean = weights.reduce(0, +) / Float(count)
            let deviation = (weights.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(count - 1)).squareRoot()
            weights = weights.map { ($0 - mean) / (deviation + 1e-8) }
        }
        let distribution = try network.distribution(input)
        let logProbability = try distribution.logProbability(of: try Self.joined(actions))
        let policyLoss = try (logProbability * (try network.constant(weights, shape: [count]))).mean() * -1
        let valueLoss = try (values - (try network.constant(returns, shape: [count]))).squared().mean() * 0.5
        let entropy = try distribution.entropy().mean()
        var loss = try policyLoss - entropy * Float(configuration.entropyCoefficient)
        if configuration.usesBaseline { loss = try loss + valueLoss }
        guard loss.value.scalars[0].isFinite else { throw ReinforcementLearningError.nonFiniteLoss("REINFORCE loss at update \(version)") }
        optimizer.learningRate = configuration.learningRate.rate(atStep: version)
        optimizer.zeroGradients()
        try loss.backward()
        try clipGradientNorm(network.parameters, maxNorm: configuration.maxGradientNorm)
        try optimizer.step()
        version += 1
        var statistics = UpdateStatistics()
        statistics.policyLoss = Double(policyLoss.value.scalars[0])
        statistics.valueLoss = Double(valueLoss.value.scalars[0])
        statistics.entropy = Double(entropy.value.scalars[0])
        statistics.gradientSteps = 1
        return statistics
    }

    static func joined(_ batches: [ActionBatch]) throws -> ActionBatch {
        var discrete: [Int] = []
        var continuous: [Float] = []
        var dimension = 0
        for batch in batches {
            switch batch {
            case .discrete(let choices): discrete += choices
            case .continuous(let values, let size):
                continuous += values
                dimension = size
            }
        }
        guard discrete.isEmpty || continuous.isEmpty else {
            throw ReinforcementLearningError.shapeMismatch("rollouts mix discrete and continuous actions")
        }
        return continuous.isEmpty ? .discrete(discrete) : .continuous(continuous, dimension: dimension)
    }
}

extension OnPolicyTrainer where Learner == REINFORCELearner {
    /// A REINFORCE trainer for `environment`, set up as ``ppo(cluster:environment:catalog:runners:environmentsPerRunner:stepsPerIteration:hiddenSizes:activation:configuration:seed:normalizesObservations:learnerDevice:)``.
    public static func reinforce(
        cluster: Cluster, environment: String, catalog: EnvironmentCatalog = .standard, runners: Int = 2, environmentsPerRunner: Int = 8,
        stepsPerIteration: Int = 64, hiddenSizes: [Int] = [64, 64], activation: Activation = .tanh,
        configuration: REINFORCEConfiguration = REINFORCEConfiguration(), seed: UInt64 = 0, learnerDevice: Device = .cpu
    ) async throws -> OnPolicyTrainer<REINFORCELearner> {
        let spec = PolicySpec(for: try catalog.make(environment), hiddenSizes: hiddenSizes, activation: activation)
        let learner = try REINFORCELearner(spec: spec, configuration: configuration, seed: seed, device: learnerDevice)
        let group = try await RunnerGroup(
            cluster: cluster, environment: environment, count: runners, environmentsPerRunner: environmentsPerRunner, policy: spec,
            seed: seed)
        return try OnPolicyTrainer(learner: learner, runners: group, stepsPerIteration: stepsPerIteration)
    }
}
