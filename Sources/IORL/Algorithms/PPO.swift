import IONN
import IOTensor

/// Proximal policy optimisation's settings (Schulman et al. 2017), with the implementation
/// details that matter (Huang et al. 2022): GAE(λ), minibatch epochs, per-minibatch advantage
/// normalisation, optional value clipping, an entropy bonus, gradient-norm clipping and a
/// learning-rate schedule. The defaults are Stable-Baselines3's.
public struct PPOConfiguration: Sendable, Equatable {
    public var discount = 0.99
    public var lambda = 0.95
    /// ε of the clipped surrogate: ratios outside [1 − ε, 1 + ε] earn no more.
    public var clipRange = 0.2
    /// Clip the value function's change per update to ±this (`nil`: no value clipping).
    public var valueClipRange: Double? = nil
    public var epochs = 10
    public var minibatchSize = 64
    public var learningRate = LearningRateSchedule.constant(base: 3e-4)
    public var entropyCoefficient = 0.0
    public var valueCoefficient = 0.5
    public var maxGradientNorm = 0.5
    public var normalizeAdvantages = true

    public init() {}

    func validate() throws(ReinforcementLearningError) {
        guard discount > 0, discount <= 1, lambda >= 0, lambda <= 1, clipRange > 0, epochs > 0, minibatchSize > 0, maxGradientNorm > 0
        else { throw .invalidConfiguration("PPO needs 0 < γ ≤ 1, 0 ≤ λ ≤ 1, a positive clip range, epochs, minibatch and gradient norm") }
        if let valueClipRange, valueClipRange <= 0 { throw .invalidConfiguration("a value clip range must be positive") }
    }
}

/// What one PPO update did, averaged over its minibatches.
public struct UpdateStatistics: Sendable, Equatable, Codable {
    public var policyLoss = 0.0
    public var valueLoss = 0.0
    public var entropy = 0.0
    /// The mean of (r − 1) − log r: an estimate of KL(old ‖ new).
    public var approximateKL = 0.0
    /// The fraction of samples whose ratio was clipped.
    public var clipFraction = 0.0
    /// Gradient steps taken.
    public var gradientSteps = 0
    /// How many updates behind the learner the policy that gathered the data was (IMPALA).
    public var policyLag = 0.0

    public init() {}
}

/// A batch of on-policy experience flattened for minibatches: observations, actions, the
/// behaviour policy's log-probabilities and values, and the advantages and returns computed
/// from them.
public struct TrainingBatch {
    public var observations: [Float]
    public var observationDimension: Int
    public var actions: ActionBatch
    public var logProbabilities: [Float]
    public var values: [Float]
    public var advantages: [Float]
    public var returns: [Float]
    public var count: Int { logProbabilities.count }

    /// The rollouts joined, with GAE(λ) advantages computed per rollout.
    public init(rollouts: [Rollout], discount: Double, lambda: Double) throws {
        guard let first = rollouts.first else { throw ReinforcementLearningError.invalidConfiguration("no rollouts to learn from") }
        observationDimension = first.observationDimension
        observations = []
        logProbabilities = []
        values = []
        advantages = []
        returns = []
        for rollout in rollouts {
            try rollout.validate()
            guard rollout.observationDimension == observationDimension else {
                throw ReinforcementLearningError.shapeMismatch(
                    "rollouts with observations of \(observationDimension) and \(rollout.observationDimension)")
            }
            let (advantage, target) = Advantages.generalized(
                rewards: rollout.rewards, values: rollout.values, terminated: rollout.terminated, truncated: rollout.truncated,
                truncationValues: rollout.truncationValues, lastValues: rollout.lastValues, environments: rollout.environments,
                discount: discount, lambda: lambda)
            observations += rollout.observations
            logProbabilities += rollout.logProbabilities
            values += rollout.values
            advantages += advantage
            returns += target
        }
        actions = try REINFORCELearner.joined(rollouts.map(\.actions))
    }

    /// The observations of `rows`, flat: `rows.count × observationDimension` values.
    func observationRows(_ rows: [Int]) -> [Float] {
        var scalars: [Float] = []
        scalars.reserveCapacity(rows.count * observationDimension)
        for row in rows { scalars += observations[(row * observationDimension)..<((row + 1) * observationDimension)] }
        return scalars
    }
}

/// The learner side of PPO: an actor-critic network, its Adam optimiser, and the clipped update.
public final class PPOLearner: OnPolicyLearner {
    public let network: ActorCritic
    public let optimizer: Adam<Float>
    public let configuration: PPOConfiguration
    /// Updates applied so far (the weights' version).
    public private(set) var version = 0
    private var random: SplitMix64

    /// A learner for a new network of `spec`, trained on `device` (the CPU, or an accelerator such
    /// as `.opencl()`).
    ///
    /// - Throws: ``ReinforcementLearningError/invalidConfiguration(_:)`` for settings out of range,
    ///   `TensorError.device` when `device` is missing.
    public init(spec: PolicySpec, configuration: PPOConfiguration, seed: UInt64, device: Device = .cpu) throws {
        try configuration.validate()
        network = try ActorCritic(spec: spec, seed: seed)
        try network.to(device)
        optimizer = Adam(network.parameters, learningRate: configuration.learningRate.rate(atStep: 0), epsilon: 1e-5)
        self.configuration = configuration
        random = SplitMix64(seed: seed ^ 0xBA7C4)
    }

    public func restore(version: Int) { self.version = version }

    /// The clipped-surrogate loss of one minibatch, and its statistics: differentiable, so that
    /// tests can check its gradients against finite differences.
    public func loss(_ batch: TrainingBatch, rows: [Int]) throws -> (loss: Variable<Float>, statistics: UpdateStatistics) {
        let observations = try network.constant(batch.observationRows(rows), shape: [rows.count, batch.observationDimension])
        var advantages = rows.map { batch.advantages[$0] }
        if configuration.normalizeAdvantages && advantages.count > 1 {
            let mean = advantages.reduce(0, +) / Float(advantages.count)
            let deviation = (advantages.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(advantages.count - 1)).squareRoot()
            advantages = advantages.map { ($0 - mean) / (deviation + 1e-8) }
        }
        let count = rows.count
        let advantage = try network.constant(advantages, shape: [count])
        let oldLogProbability = try network.constant(rows.map { batch.logProbabilities[$0] }, shape: [count])
        let distribution = try network.distribution(observations)
        let logProbability = try distribution.logProbability(of: batch.actions.rows(rows))
        let logRatio = try logProbability - oldLogProbability
        let ratio = logRatio.exp()
        let clip = Float(configuration.clipRange)
        let surrogate = try (ratio * advantage).minimum(try ratio.clamped(lower: 1 - clip, upper: 1 + clip) * advantage)
        let policyLoss = surrogate.mean() * -1

        let values = try network.values(observations)
        let returns = try network.constant(rows.map { batch.returns[$0] }, shape: [count])
        var valueError = try (values - returns).squared()
        if let valueClip = configuration.valueClipRange {
            let oldValues = try network.constant(rows.map { batch.values[$0] }, shape: [count])
            let clipped = try oldValues + (try values - oldValues).clamped(lower: Float(-valueClip), upper: Float(valueClip))
            valueError = try valueError.maximum(try (clipped - returns).squared())
        }
        let valueLoss = valueError.mean() * 0.5
        let entropy = try distribution.entropy().mean()
        let loss =
            try (policyLoss + valueLoss * Float(configuration.valueCoefficient)) - entropy * Float(configuration.entropyCoefficient)

        var statistics = UpdateStatistics()
        statistics.policyLoss = Double(policyLoss.value.scalars[0])
        statistics.valueLoss = Double(valueLoss.value.scalars[0])
        statistics.entropy = Double(entropy.value.scalars[0])
        let ratios = ratio.value.scalars
        let logRatios = logRatio.value.scalars
        statistics.approximateKL = zip(ratios, logRatios).map { Double(($0 - 1) - $1) }.reduce(0, +) / Double(count)
        statistics.clipFraction = Double(ratios.filter { abs($0 - 1) > clip }.count) / Double(count)
        return (loss, statistics)
    }

    /// Learns from `rollouts`: `epochs` passes over them in shuffled minibatches, at the
    /// learning rate of update ``version``.
    ///
    /// - Throws: ``ReinforcementLearningError/nonFiniteLoss(_:)`` (the step is skipped and the
    ///   weights stay finite), or a shape error for rollouts that do not fit the network.
    @discardableResult
    public func update(_ rollouts: [Rollout]) throws -> UpdateStatistics {
        let batch = try TrainingBatch(rollouts: rollouts, discount: configuration.discount, lambda: configuration.lambda)
        guard batch.observationDimension == network.spec.observationDimension else {
            throw ReinforcementLearningError.shapeMismatch(
                "observations of \(batch.observationDimension) for a policy of \(network.spec.observationDimension)")
        }
        optimizer.learningRate = configuration.learningRate.rate(atStep: version)
        var total = UpdateStatistics()
        var indices = Array(0..<batch.count)
        for _ in 0..<configuration.epochs {
            indices.shuffle(using: &random)
            for start in stride(from: 0, to: indices.count, by: configuration.minibatchSize) {
                let rows = Array(indices[start..<min(start + configuration.minibatchSize, indices.count)])
                let (loss, statistics) = try self.loss(batch, rows: rows)
                guard loss.value.scalars[0].isFinite else {
                    throw ReinforcementLearningError.nonFiniteLoss("PPO loss at update \(version)")
                }
                optimizer.zeroGradients()
                try loss.backward()
                try clipGradientNorm(network.parameters, maxNorm: configuration.maxGradientNorm)
                try optimizer.step()
                total.policyLoss += statistics.policyLoss
                total.valueLoss += statistics.valueLoss
                total.entropy += statistics.entropy
                total.approximateKL += statistics.approximateKL
                total.clipFraction += statistics.clipFraction
                total.gradientSteps += 1
            }
        }
        let steps = Double(max(total.gradientSteps, 1))
        total.policyLoss /= steps
        total.valueLoss /= steps
        total.entropy /= steps
        total.approximateKL /= steps
        total.clipFraction /= steps
        version += 1
        return total
    }
}
