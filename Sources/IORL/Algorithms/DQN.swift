import IONN
import IORuntime
import IOTensor

/// Deep Q-learning's settings (Mnih et al. 2015), with double Q-learning (van Hasselt et al.
/// 2016) on by default. The defaults follow Stable-Baselines3's tuned CartPole settings.
public struct DQNConfiguration: Sendable, Equatable {
    public var discount = 0.99
    public var learningRate = LearningRateSchedule.constant(base: 2.3e-3)
    public var batchSize = 64
    public var replayCapacity = 100_000
    /// Environment steps collected with uniform actions before learning starts.
    public var learningStarts = 1_000
    /// Gradient steps per iteration.
    public var gradientSteps = 128
    /// Copy the online network to the target network once this many environment steps have been
    /// collected since the last copy, checked before each iteration's gradient steps (as
    /// Stable-Baselines3 counts it: with its CartPole settings the target is the online network as
    /// it was when the iteration's updates began).
    public var targetUpdateInterval = 10
    /// Choose the next action with the online network and value it with the target network.
    public var doubleQ = true
    /// ε falls linearly from `initialEpsilon` to `finalEpsilon` over this fraction of the steps.
    public var explorationFraction = 0.16
    public var initialEpsilon = 1.0
    public var finalEpsilon = 0.04
    public var maxGradientNorm = 10.0

    public init() {}

    /// ε after `steps` of `totalSteps` environment steps.
    public func epsilon(atStep steps: Int, of totalSteps: Int) -> Double {
        let progress = min(Double(steps) / max(explorationFraction * Double(totalSteps), 1), 1)
        return initialEpsilon + (finalEpsilon - initialEpsilon) * progress
    }
}

/// The learner side of DQN: an online Q-network (the policy head of an ``ActorCritic``, read as
/// one value per action, so env runners can act ε-greedily with it), a target copy, and the
/// Huber-loss update towards r + γ·Q_target(s′, argmax Q(s′, ·)).
public final class DQNLearner {
    public let online: ActorCritic
    public let target: ActorCritic
    public let optimizer: Adam<Float>
    public let configuration: DQNConfiguration
    public private(set) var gradientSteps = 0
    /// Updates applied so far (the weights' version).
    public private(set) var version = 0
    /// Copies of the online network into the target network so far.
    public private(set) var targetUpdates = 0

    /// A learner for a new Q-network of `spec` (with a target copy), trained on `device` (the
    /// CPU, or `.opencl()`).
    public init(spec: PolicySpec, configuration: DQNConfiguration, seed: UInt64, device: Device = .cpu) throws {
        guard spec.actionSpace.choices != nil else {
            throw ReinforcementLearningError.invalidConfiguration("DQN needs a discrete action space")
        }
        guard configuration.batchSize > 0, configuration.targetUpdateInterval > 0, configuration.discount > 0, configuration.discount <= 1
        else {
            throw ReinforcementLearningError.invalidConfiguration("DQN needs a positive batch size and target interval, and 0 < γ ≤ 1")
        }
        online = try ActorCritic(spec: spec, seed: seed)
        target = try ActorCritic(spec: spec, seed: seed)
        try target.load(online.stateDictionary())
        try online.to(device)
        try target.to(device)
        optimizer = Adam(online.actor.parameters, learningRate: configuration.learningRate.rate(atStep: 0))
        self.configuration = configuration
    }

    /// The online network's weights, for env runners.
    public var weights: PolicyWeights { PolicyWeights(version: version, tensors: online.stateDictionary()) }

    /// Q-values of a flat batch of observations, `[count × actions]`, from `network`.
    func qValues(_ network: ActorCritic, _ observations: [Float], count: Int) throws -> Tensor<Float> {
        try network.actor(try network.constant(observations, shape: [count, network.spec.observationDimension])).value
    }

    /// The regression targets of a batch: r + γ·(1 − terminated)·Q_target(s′, a′), with a′ the
    /// online network's best action (double DQN) or the target's own (plain DQN).
    public func targets(_ batch: ReplayBatch) throws -> [Float] {
        try withoutGradients {
            let choices = online.spec.headSize
            let nextTarget = try qValues(target, batch.nextObservations, count: batch.count).scalars
            let nextOnline = configuration.doubleQ ? try qValues(online, batch.nextObservations, count: batch.count).scalars : nextTarget
            return (0..<batch.count).map { row in
                let picks = nextOnline[(row * choices)..<((row + 1) * choices)]
                let best = picks.indices.max { picks[$0] < picks[$1] }!
                let future = batch.terminated[row] ? 0 : Float(configuration.discount) * nextTarget[best]
                return batch.rewards[row] + future
            }
        }
    }

    /// One gradient step of the online network on `batch`. Returns the loss.
    @discardableResult
    public func update(_ batch: ReplayBatch) throws -> Double {
        let goals = try targets(batch)
        let observations = try online.constant(batch.observations, shape: [batch.count, online.spec.observationDimension])
        let taken = try online.actor(observations).gathering(
            try Tensor<Int>(shape: [batch.count, 1], scalars: batch.actions), alongAxis: 1)
        let loss = try Loss.huber(taken.reshaped([batch.count]), try Tensor(shape: [batch.count], scalars: goals).to(online.device))
        guard loss.value.scalars[0].isFinite else {
            throw ReinforcementLearningError.nonFiniteLoss("DQN loss at gradient step \(gradientSteps)")
        }
        optimizer.learningRate = configuration.learningRate.rate(atStep: version)
        optimizer.zeroGradients()
        try loss.backward()
        try clipGradientNorm(online.actor.parameters, maxNorm: configuration.maxGradientNorm)
        try optimizer.step()
        gradientSteps += 1
        return Double(loss.value.scalars[0])
    }

    /// Copies the online network into the target network.
    public func updateTarget() throws {
        try target.load(online.stateDictionary())
        targetUpdates += 1
    }

    /// Marks the end of an iteration's updates: runners will fetch the new weights.
    func finishIteration() { version += 1 }
}

/// DQN on the cluster: env runners act ε-greedily with the online network and the learner
/// replays what they saw.
public final class DQNTrainer {
    public let learner: DQNLearner
    public let runners: RunnerGroup
    public let stepsPerIteration: Int
    public private(set) var replay: ReplayBuffer
    /// Every iteration so far.
    public var history: LearningHistory { tally.history }
    private var random: SplitMix64
    private var tally = TrainingTally()

    /// A DQN trainer for `environment` (a discrete-action environment of `catalog`), its
    /// Q-network ReLU by default as Stable-Baselines3's, learning on `learnerDevice`.
    ///
    /// The defaults gather 256 env steps per iteration from one environment per runner, as
    /// Stable-Baselines3's tuned CartPole run does from one environment: on CartPole-v1, 4
    /// environments per runner stepping a quarter as far learned markedly worse on the same
    /// budget.
    public init(
        cluster: Cluster, environment: String, catalog: EnvironmentCatalog = .standard, runners: Int = 2, environmentsPerRunner: Int = 1,
        stepsPerIteration: Int = 128, hiddenSizes: [Int] = [256, 256], activation: Activation = .relu,
        configuration: DQNConfiguration = DQNConfiguration(), seed: UInt64 = 0, learnerDevice: Device = .cpu
    ) async throws {
        guard stepsPerIteration > 0 else { throw ReinforcementLearningError.invalidConfiguration("an iteration needs at least 1 step") }
        let spec = PolicySpec(for: try catalog.make(environment), hiddenSizes: hiddenSizes, activation: activation)
        learner = try DQNLearner(spec: spec, configuration: configuration, seed: seed, device: learnerDevice)
        replay = try ReplayBuffer(capacity: configuration.replayCapacity, observationDimension: spec.observationDimension)
        self.runners = try await RunnerGroup(
            cluster: cluster, environment: environment, count: runners, environmentsPerRunner: environmentsPerRunner, policy: spec,
            seed: seed)
        self.stepsPerIteration = stepsPerIteration
        random = SplitMix64(seed: seed ^ 0xD0)
    }

    /// Trains for `maxEnvironmentSteps` (or until the mean return of the last 100 episodes
    /// reaches `stopAtMeanReturn`).
    @discardableResult
    public func train(maxEnvironmentSteps: Int, stopAtMeanReturn: Double? = nil, progress: LearningProgress? = nil) async throws
        -> LearningHistory
    {
        let start = ContinuousClock.now
        let configuration = learner.configuration
        var stepsSinceTargetUpdate = 0
        while tally.environmentSteps < maxEnvironmentSteps {
            if let stopAtMeanReturn, let mean = history.finalMeanReturn, mean >= stopAtMeanReturn { break }
            let mode: SamplingMode =
                tally.environmentSteps < configuration.learningStarts
                ? .uniform : .epsilonGreedy(configuration.epsilon(atStep: tally.environmentSteps, of: maxEnvironmentSteps))
            let sampleStart = ContinuousClock.now
            let rollouts = try await runners.sampleAll(weights: learner.weights, steps: stepsPerIteration, mode: mode)
            let samplingSeconds = (ContinuousClock.now - sampleStart).seconds
            for rollout in rollouts { try replay.append(rollout) }
            let steps = tally.add(rollouts)
            stepsSinceTargetUpdate += steps
            var update = UpdateStatistics()
            if tally.environmentSteps >= configuration.learningStarts {
                if stepsSinceTargetUpdate >= configuration.targetUpdateInterval {
                    try learner.updateTarget()
                    stepsSinceTargetUpdate = 0
                }
                for _ in 0..<configuration.gradientSteps {
                    update.valueLoss += try learner.update(replay.sample(configuration.batchSize, using: &random))
                }
                update.gradientSteps = configuration.gradientSteps
                update.valueLoss /= Double(max(configuration.gradientSteps, 1))
                learner.finishIteration()
            }
            tally.record(steps: steps, samplingSeconds: samplingSeconds, since: start, update: update, progress: progress)
        }
        return history
    }

    /// Greedy evaluation episodes with the online network, seeded `seed`, `seed + 1`, ….
    public func evaluate(episodes: Int = 20, seed: UInt64 = 1_000_000) async throws -> [EpisodeRecord] {
        try await runners.evaluate(weights: learner.weights, seeds: (0..<UInt64(episodes)).map { seed + $0 }, greedy: true)
    }

    /// Stops the env runners.
    public func shutdown() { runners.shutdown() }
}
