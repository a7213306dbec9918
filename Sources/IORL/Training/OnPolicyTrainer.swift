import Foundation
import IONN
import IORuntime
import IOTensor

/// A learner that improves a policy from fresh rollouts of that policy (PPO, REINFORCE).
public protocol OnPolicyLearner: AnyObject {
    /// The network being trained; runners get its weights.
    var network: ActorCritic { get }
    /// The optimiser, saved with checkpoints.
    var optimizer: Adam<Float> { get }
    /// Updates applied so far.
    var version: Int { get }
    /// One update from rollouts of the current policy.
    func update(_ rollouts: [Rollout]) throws -> UpdateStatistics
    /// Restores the update count from a checkpoint.
    func restore(version: Int)
}

extension OnPolicyLearner {
    /// The current weights, for env runners.
    public var weights: PolicyWeights { PolicyWeights(version: version, tensors: network.stateDictionary()) }
}

/// Synchronous on-policy training on the cluster: each iteration sends the current weights to
/// every env runner once, gathers one rollout from each, and applies one update.
///
/// ```swift
/// let registry = Registry().environmentRunners()
/// let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
/// let trainer = try await OnPolicyTrainer.ppo(cluster: cluster, environment: "CartPole-v1")
/// let history = try await trainer.train(maxEnvironmentSteps: 200_000, stopAtMeanReturn: 475)
/// let returns = try await trainer.evaluate(episodes: 20)
/// ```
public final class OnPolicyTrainer<Learner: OnPolicyLearner> {
    public let learner: Learner
    public let runners: RunnerGroup
    /// Steps each environment takes per iteration.
    public let stepsPerIteration: Int
    /// Every iteration so far.
    public var history: LearningHistory { tally.history }
    /// Steps, episodes, recent returns and history (saved with checkpoints).
    var tally = TrainingTally()
    /// The observation statistics all runners share, when they normalise observations.
    public internal(set) var observationStatistics: RunningStatistics?

    /// A trainer for `learner` with `runners` already started.
    public init(learner: Learner, runners: RunnerGroup, stepsPerIteration: Int) throws {
        guard stepsPerIteration > 0 else { throw ReinforcementLearningError.invalidConfiguration("an iteration needs at least 1 step") }
        self.learner = learner
        self.runners = runners
        self.stepsPerIteration = stepsPerIteration
        if runners.normalizesObservations {
            observationStatistics = RunningStatistics(dimension: learner.network.spec.observationDimension)
        }
    }

    /// The weights runners get: the learner's, with the shared observation statistics.
    var runnerWeights: PolicyWeights {
        var weights = learner.weights
        weights.observationStatistics = observationStatistics
        return weights
    }

    /// Environment steps per iteration, all runners together.
    public var stepsPerIterationInTotal: Int { stepsPerIteration * runners.configurations.reduce(0) { $0 + $1.environmentsPerRunner } }

    /// Trains until `iterations` iterations, `maxEnvironmentSteps` steps, or (when given) the mean
    /// return of the last 100 episodes reaching `stopAtMeanReturn`, whichever comes first.
    @discardableResult
    public func train(
        iterations: Int? = nil, maxEnvironmentSteps: Int? = nil, stopAtMeanReturn: Double? = nil, progress: LearningProgress? = nil
    ) async throws -> LearningHistory {
        guard iterations != nil || maxEnvironmentSteps != nil else {
            throw ReinforcementLearningError.invalidConfiguration("train needs a number of iterations or a step budget")
        }
        let start = ContinuousClock.now
        let firstIteration = history.iterations.count
        while true {
            if let iterations, history.iterations.count - firstIteration >= iterations { break }
            if let maxEnvironmentSteps, tally.environmentSteps >= maxEnvironmentSteps { break }
            if let stopAtMeanReturn, let mean = history.finalMeanReturn, mean >= stopAtMeanReturn { break }
            let sampleStart = ContinuousClock.now
            let rollouts = try await runners.sampleAll(weights: runnerWeights, steps: stepsPerIteration, mode: .policy)
            for case let seen? in rollouts.map(\.observationStatistics) { observationStatistics?.merge(seen) }
            let samplingSeconds = (ContinuousClock.now - sampleStart).seconds
            let update = try learner.update(rollouts)
            let steps = tally.add(rollouts)
            tally.record(steps: steps, samplingSeconds: samplingSeconds, since: start, update: update, progress: progress)
        }
        return history
    }

    /// Plays `episodes` evaluation episodes with the current policy, seeded `seed`, `seed + 1`,
    /// …, so that two evaluations of the same policy see the same starts.
    public func evaluate(episodes: Int = 20, seed: UInt64 = 1_000_000, greedy: Bool = true) async throws -> [EpisodeRecord] {
        try await runners.evaluate(weights: runnerWeights, seeds: (0..<UInt64(episodes)).map { seed + $0 }, greedy: greedy)
    }

    /// Stops the env runners.
    public func shutdown() { runners.shutdown() }
}

extension OnPolicyTrainer where Learner == PPOLearner {
    /// A PPO trainer for `environment` (from `catalog`, which the cluster's registry must also
    /// hold): `runners` env runners of `environmentsPerRunner` environments each, stepping
    /// `stepsPerIteration` times per iteration. The learner trains on `learnerDevice` (the CPU,
    /// or an accelerator such as `.opencl()`); runners act on their own CPUs.
    public static func ppo(
        cluster: Cluster, environment: String, catalog: EnvironmentCatalog = .standard, runners: Int = 2, environmentsPerRunner: Int = 8,
        stepsPerIteration: Int = 128, hiddenSizes: [Int] = [64, 64], activation: Activation = .tanh,
        configuration: PPOConfiguration = PPOConfiguration(), seed: UInt64 = 0, normalizesObservations: Bool = false,
        learnerDevice: Device = .cpu
    ) async throws -> OnPolicyTrainer<PPOLearner> {
        let spec = PolicySpec(for: try catalog.make(environment), hiddenSizes: hiddenSizes, activation: activation)
        let learner = try PPOLearner(spec: spec, configuration: configuration, seed: seed, device: learnerDevice)
        let group = try await RunnerGroup(
            cluster: cluster, environment: environment, count: runners, environmentsPerRunner: environmentsPerRunner, policy: spec,
            seed: seed, normalizesObservations: normalizesObservations)
        return try OnPolicyTrainer(learner: learner, runners: group, stepsPerIteration: stepsPerIteration)
    }
}
