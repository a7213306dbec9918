import IONN
import IORuntime
import IOTensor

/// IMPALA's settings (Espeholt et al. 2018): asynchronous sampling corrected by V-trace.
public struct IMPALAConfiguration: Sendable, Equatable {
    public var discount = 0.99
    /// λ of the V-trace traces c (1: the paper's).
    public var lambda = 1.0
    /// ρ̄ and c̄, the truncation of the importance weights.
    public var clipRho = 1.0
    public var clipC = 1.0
    public var learningRate = LearningRateSchedule.constant(base: 5e-4)
    public var entropyCoefficient = 0.01
    public var valueCoefficient = 0.5
    public var maxGradientNorm = 40.0

    public init() {}
}

/// The learner side of IMPALA: one update per rollout, whichever policy version gathered it,
/// with V-trace targets and policy-gradient advantages computed under the current network.
public final class IMPALALearner {
    public let network: ActorCritic
    public let optimizer: Adam<Float>
    public let configuration: IMPALAConfiguration
    public private(set) var version = 0

    /// A learner for a new network of `spec`, trained on `device` (the CPU, or `.opencl()`).
    public init(spec: PolicySpec, configuration: IMPALAConfiguration, seed: UInt64, device: Device = .cpu) throws {
        guard configuration.discount > 0, configuration.discount <= 1, configuration.clipRho > 0, configuration.clipC > 0 else {
            throw ReinforcementLearningError.invalidConfiguration("IMPALA needs 0 < γ ≤ 1 and positive ρ̄ and c̄")
        }
        network = try ActorCritic(spec: spec, seed: seed)
        try network.to(device)
        optimizer = Adam(network.parameters, learningRate: configuration.learningRate.rate(atStep: 0))
        self.configuration = configuration
    }

    /// The current weights, for env runners.
    public var weights: PolicyWeights { PolicyWeights(version: version, tensors: network.stateDictionary()) }

    /// One update from `rollout`, gathered by policy version `rollout.policyVersion`.
    @discardableResult
    public func update(_ rollout: Rollout) throws -> UpdateStatistics {
        try rollout.validate()
        let dimension = network.spec.observationDimension
        guard rollout.observationDimension == dimension else {
            throw ReinforcementLearningError.shapeMismatch("observations of \(rollout.observationDimension) for a policy of \(dimension)")
        }
        let input = try network.constant(rollout.observations, shape: [rollout.count, dimension])
        let distribution = try network.distribution(input)
        let logProbability = try distribution.logProbability(of: rollout.actions)
        let values = try network.values(input)
        // Bootstrap values under the current network, for the rollout's end and its truncations.
        let lastValues = try network.values(of: rollout.lastObservations, count: rollout.environments)
        var truncationValues = [Float](repeating: 0, count: rollout.count)
        let truncatedRows = (0..<rollout.count).filter { rollout.truncated[$0] && !rollout.terminated[$0] }
        if !truncatedRows.isEmpty {
            let bootstrap = try network.values(of: rollout.truncationObservations, count: truncatedRows.count)
            for (index, row) in truncatedRows.enumerated() { truncationValues[row] = bootstrap[index] }
        }
        let (targets, advantages) = Advantages.vTrace(
            behaviourLogProbabilities: rollout.logProbabilities, targetLogProbabilities: logProbability.value.scalars,
            rewards: rollout.rewards,
            values: values.value.scalars, terminated: rollout.terminated, truncated: rollout.truncated, truncationValues: truncationValues,
            lastValues: lastValues, environments: rollout.environments, discount: configuration.discount, lambda: configuration.lambda,
            clipRho: configuration.clipRho, clipC: configuration.clipC)
        let count = rollout.count
        let policyLoss = try (logProbability * (try network.constant(advantages, shape: [count]))).mean() * -1
        let valueLoss = try (values - (try network.constant(targets, shape: [count]))).squared().mean() * 0.5
        let entropy = try distribution.entropy().mean()
        let loss =
            try (policyLoss + valueLoss * Float(configuration.valueCoefficient)) - entropy * Float(configuration.entropyCoefficient)
        guard loss.value.scalars[0].isFinite else { throw ReinforcementLearningError.nonFiniteLoss("IMPALA loss at update \(version)") }
        optimizer.learningRate = configuration.learningRate.rate(atStep: version)
        optimizer.zeroGradients()
        try loss.backward()
        try clipGradientNorm(network.parameters, maxNorm: configuration.maxGradientNorm)
        try optimizer.step()
        var statistics = UpdateStatistics()
        statistics.policyLoss = Double(policyLoss.value.scalars[0])
        statistics.valueLoss = Double(valueLoss.value.scalars[0])
        statistics.entropy = Double(entropy.value.scalars[0])
        statistics.policyLag = Double(version - rollout.policyVersion)
        statistics.gradientSteps = 1
        version += 1
        return statistics
    }
}

/// IMPALA on the cluster: every runner always has a sampling call in flight, made with the newest
/// weights when it starts; the learner updates from each rollout as it arrives, so runners never
/// wait for the learner nor the learner for the slowest runner.
public final class IMPALATrainer {
    public let learner: IMPALALearner
    public let runners: RunnerGroup
    public let stepsPerRollout: Int
    /// Every update so far.
    public var history: LearningHistory { tally.history }
    private var tally = TrainingTally()

    public init(
        cluster: Cluster, environment: String, catalog: EnvironmentCatalog = .standard, runners: Int = 2, environmentsPerRunner: Int = 8,
        stepsPerRollout: Int = 32, hiddenSizes: [Int] = [64, 64], activation: Activation = .tanh,
        configuration: IMPALAConfiguration = IMPALAConfiguration(), seed: UInt64 = 0, learnerDevice: Device = .cpu
    ) async throws {
        guard stepsPerRollout > 0 else { throw ReinforcementLearningError.invalidConfiguration("a rollout needs at least 1 step") }
        let spec = PolicySpec(for: try catalog.make(environment), hiddenSizes: hiddenSizes, activation: activation)
        learner = try IMPALALearner(spec: spec, configuration: configuration, seed: seed, device: learnerDevice)
        self.runners = try await RunnerGroup(
            cluster: cluster, environment: environment, count: runners, environmentsPerRunner: environmentsPerRunner, policy: spec,
            seed: seed)
        self.stepsPerRollout = stepsPerRollout
    }

    /// Trains until `maxEnvironmentSteps` steps have been learned from (or the mean return of
    /// the last 100 episodes reaches `stopAtMeanReturn`); rollouts still in flight then are
    /// learned from too. One ``IterationRecord`` per update.
    @discardableResult
    public func train(maxEnvironmentSteps: Int, stopAtMeanReturn: Double? = nil, progress: LearningProgress? = nil) async throws
        -> LearningHistory
    {
        let start = ContinuousClock.now
        let steps = stepsPerRollout
        let runners = self.runners
        try await withThrowingTaskGroup(of: (Int, Rollout).self) { group in
            func launch(_ index: Int, _ policy: PublishedPolicy) {
                group.addTask {
                    (index, try await runners.withRunner(index) { try await $0.sample(policy: policy, steps: steps, mode: .policy) })
                }
            }
            var requested = tally.environmentSteps
            for index in 0..<runners.count {
                launch(index, try await runners.publish(learner.weights))
                requested += steps * runners.configurations[index].environmentsPerRunner
            }
            while let (index, rollout) = try await group.next() {
                let update = try learner.update(rollout)
                let steps = tally.add([rollout])
                let record = tally.record(steps: steps, samplingSeconds: rollout.seconds, since: start, update: update, progress: progress)
                let solved = stopAtMeanReturn.map { target in record.meanReturn.map { $0 >= target } ?? false } ?? false
                if requested < maxEnvironmentSteps && !solved {
                    launch(index, try await runners.publish(learner.weights))
                    requested += rollout.count
                }
            }
        }
        return history
    }

    /// Greedy evaluation episodes, seeded `seed`, `seed + 1`, ….
    public func evaluate(episodes: Int = 20, seed: UInt64 = 1_000_000) async throws -> [EpisodeRecord] {
        try await runners.evaluate(weights: learner.weights, seeds: (0..<UInt64(episodes)).map { seed + $0 }, greedy: true)
    }

    /// Stops the env runners.
    public func shutdown() { runners.shutdown() }
}
