import Distributed
import Foundation
import IORuntime
import IOTensor

/// How an env runner chooses actions.
public enum SamplingMode: Sendable, Equatable, WireCodable {
    /// Drawn from the policy (PPO, REINFORCE, IMPALA).
    case policy
    /// The policy's most likely action (evaluation).
    case greedy
    /// The action of highest value with probability 1 − ε, a uniform one otherwise (DQN: the
    /// policy head is read as Q-values).
    case epsilonGreedy(Double)
    /// Uniformly from the action space (baselines, replay warm-up).
    case uniform
}

/// What an env runner is built from: which environment, how many copies, the policy's shape and
/// its seed. Runner i of a trainer gets seed `seed + 1000·i`, so runners explore differently and
/// a restarted runner repeats its own stream.
public struct RunnerConfiguration: Sendable, Equatable, WireCodable {
    /// The environment's name in the catalog the runner was registered with.
    public var environment: String
    /// How many copies of it step together.
    public var environmentsPerRunner: Int
    public var policy: PolicySpec
    public var seed: UInt64
    /// Standardise observations with running statistics shared by all runners (RLlib's
    /// `MeanStdFilter`): each rollout carries what its runner saw, the trainer merges them and
    /// sends the merged statistics back with the next weights.
    public var normalizesObservations: Bool

    public init(environment: String, environmentsPerRunner: Int, policy: PolicySpec, seed: UInt64, normalizesObservations: Bool = false) {
        self.environment = environment
        self.environmentsPerRunner = environmentsPerRunner
        self.policy = policy
        self.seed = seed
        self.normalizesObservations = normalizesObservations
    }
}

/// An actor that steps a vector of environments with the current policy and returns what it
/// saw as a ``Rollout`` — RLlib's env runner. Its environments keep their episodes going from one
/// call to the next. Runners live wherever the cluster places them (in this process or a worker
/// process); register them with `Registry.environmentRunners(_:)`.
public distributed actor EnvRunner {
    public typealias ActorSystem = ClusterActorSystem

    private var environments: VectorEnvironment
    private let policy: ActorCritic
    /// The policy's current weights, forward-only: what the runner acts with.
    private var inference: InferencePolicy
    private var policyVersion = -1
    private var random: SplitMix64
    private let configuration: RunnerConfiguration
    private let catalog: EnvironmentCatalog
    /// The statistics observations are standardised with, and what this runner saw since they
    /// were last replaced (`nil` without normalisation).
    private var filter: RunningStatistics?
    private var seen: RunningStatistics?

    /// Builds `configuration.environmentsPerRunner` environments from `catalog` and a policy
    /// network of the configured shape.
    public init(actorSystem: ClusterActorSystem, configuration: RunnerConfiguration, catalog: EnvironmentCatalog) throws {
        self.actorSystem = actorSystem
        self.configuration = configuration
        self.catalog = catalog
        environments = try VectorEnvironment(count: configuration.environmentsPerRunner, seed: configuration.seed) {
            try catalog.make(configuration.environment)
        }
        guard environments.observationSpace.dimension == configuration.policy.observationDimension,
            environments.actionSpace == configuration.policy.actionSpace
        else {
            throw ReinforcementLearningError.shapeMismatch(
                "\(configuration.environment) has observations of \(environments.observationSpace.dimension) and actions \(environments.actionSpace); the policy expects \(configuration.policy.observationDimension) and \(configuration.policy.actionSpace)"
            )
        }
        policy = try ActorCritic(spec: configuration.policy, seed: configuration.seed)
        inference = try InferencePolicy(policy)
        random = SplitMix64(seed: configuration.seed ^ 0x5EED)
        if configuration.normalizesObservations {
            filter = RunningStatistics(dimension: configuration.policy.observationDimension)
            seen = RunningStatistics.empty(dimension: configuration.policy.observationDimension)
        }
        environments.reset()
    }

    /// Steps every environment `steps` times, choosing actions by `mode` with `weights` (kept
    /// from the last call when `nil` or of the version this runner already has).
    ///
    /// - Throws: ``ReinforcementLearningError`` for weights of another shape or no steps;
    ///   ``EnvironmentError`` when an environment refuses an action.
    public distributed func sample(weights: PolicyWeights?, steps: Int, mode: SamplingMode) throws -> Rollout {
        try load(weights)
        return try collect(steps: steps, mode: mode)
    }

    /// Steps every environment `steps` times with the published `policy`, reading its weights
    /// from the object store only when this runner does not hold that version yet (kept from the
    /// last call when `nil`).
    ///
    /// - Throws: as ``sample(weights:steps:mode:)``, and the cluster's error when the weights
    ///   cannot be read.
    public distributed func sample(policy: PublishedPolicy?, steps: Int, mode: SamplingMode) async throws -> Rollout {
        try await load(policy)
        return try collect(steps: steps, mode: mode)
    }

    private func collect(steps: Int, mode: SamplingMode) throws -> Rollout {
        guard steps > 0 else { throw ReinforcementLearningError.invalidConfiguration("a rollout needs at least 1 step") }
        let start = ContinuousClock.now
        let count = environments.count
        let dimension = environments.observationDimension
        var observations: [Float] = []
        observations.reserveCapacity(steps * count * dimension)
        var rewards: [Float] = []
        var terminated: [Bool] = []
        var truncated: [Bool] = []
        var logProbabilities: [Float] = []
        var values: [Float] = []
        var truncationValues = [Float](repeating: 0, count: steps * count)
        var truncationObservations: [Float] = []
        var discrete: [Int] = []
        var continuous: [Float] = []
        for step in 0..<steps {
            let current = observe(environments.observations, count: count, learning: true)
            observations.append(contentsOf: current)
            let (actions, logProbability, value) = try choose(current, count: count, mode: mode)
            logProbabilities.append(contentsOf: logProbability)
            values.append(contentsOf: value)
            switch actions {
            case .discrete(let choices): discrete.append(contentsOf: choices)
            case .continuous(let values, _): continuous.append(contentsOf: values)
            }
            let space = environments.actionSpace
            let result = try environments.step((0..<count).map { space.clipped(actions[$0]) })
            rewards.append(contentsOf: result.rewards.map { Float($0) })
            terminated.append(contentsOf: result.terminated)
            truncated.append(contentsOf: result.truncated)
            // A truncated episode's last observation still has a value: bootstrap from it.
            for index in 0..<count where result.truncated[index] && !result.terminated[index] {
                let final = observe(result.finalObservations[index] ?? [], count: 1, learning: false)
                truncationObservations.append(contentsOf: final)
                if mode != .uniform { truncationValues[step * count + index] = try inference.values(of: final, count: 1)[0] }
            }
        }
        let last = observe(environments.observations, count: count, learning: false)
        let lastValues = mode == .uniform ? [Float](repeating: 0, count: count) : try inference.values(of: last, count: count)
        let actions: ActionBatch =
            environments.actionSpace.choices != nil
            ? .discrete(discrete) : .continuous(continuous, dimension: environments.actionSpace.dimension)
        return Rollout(
            steps: steps, environments: count, observationDimension: dimension, observations: observations, actions: actions,
            rewards: rewards, terminated: terminated, truncated: truncated, logProbabilities: logProbabilities, values: values,
            truncationValues: truncationValues, truncationObservations: truncationObservations, lastValues: lastValues,
            lastObservations: last, episodes: environments.takeCompletedEpisodes(), policyVersion: policyVersion,
            seconds: (ContinuousClock.now - start).seconds, observationStatistics: takeSeen())
    }

    /// Plays one episode per seed in a fresh environment and returns each episode's return and
    /// length: evaluation on a fixed seed set, greedy or sampled.
    public distributed func evaluate(weights: PolicyWeights, seeds: [UInt64], greedy: Bool) throws -> [EpisodeRecord] {
        try load(weights)
        return try play(seeds: seeds, greedy: greedy)
    }

    /// ``evaluate(weights:seeds:greedy:)`` with a published policy.
    public distributed func evaluate(policy: PublishedPolicy, seeds: [UInt64], greedy: Bool) async throws -> [EpisodeRecord] {
        try await load(policy)
        return try play(seeds: seeds, greedy: greedy)
    }

    private func play(seeds: [UInt64], greedy: Bool) throws -> [EpisodeRecord] {
        var records: [EpisodeRecord] = []
        for seed in seeds {
            var episode = try VectorEnvironment(count: 1, seed: seed) { try catalog.make(configuration.environment) }
            episode.reset()
            while episode.completedEpisodes.isEmpty {
                let observation = observe(episode.observations, count: 1, learning: false)
                let (actions, _, _) = try choose(observation, count: 1, mode: greedy ? .greedy : .policy)
                _ = try episode.step([episode.actionSpace.clipped(actions[0])])
            }
            records.append(contentsOf: episode.takeCompletedEpisodes())
        }
        return records
    }

    /// The process this runner lives in (its worker's, or the driver's in process).
    public distributed func processID() -> Int { Int(ProcessInfo.processInfo.processIdentifier) }

    private func load(_ published: PublishedPolicy?) async throws {
        guard let published, published.version != policyVersion else { return }
        let weights = try await published.weights.get()
        guard weights.version == published.version else {
            throw ReinforcementLearningError.shapeMismatch(
                "published version \(published.version) holds weights of version \(weights.version)")
        }
        try load(weights)
    }

    private func load(_ weights: PolicyWeights?) throws {
        guard let weights, weights.version != policyVersion else { return }
        try policy.load(weights.tensors)
        inference = try InferencePolicy(policy)
        policyVersion = weights.version
        if let statistics = weights.observationStatistics, filter != nil { filter = statistics }
    }

    /// Rows of raw observations as the policy sees them: standardised and clipped to ±10 when
    /// this runner normalises, the statistics updated with them when `learning`.
    private func observe(_ observations: [Float], count: Int, learning: Bool) -> [Float] {
        guard var statistics = filter, count > 0 else { return observations }
        let dimension = observations.count / count
        if learning {
            for row in 0..<count {
                let raw = observations[(row * dimension)..<((row + 1) * dimension)].map { Double($0) }
                statistics.update(raw)
                seen?.update(raw)
            }
            filter = statistics
        }
        var normalized: [Float] = []
        normalized.reserveCapacity(observations.count)
        for row in 0..<count {
            normalized += statistics.normalize(Array(observations[(row * dimension)..<((row + 1) * dimension)])).map {
                Swift.min(Swift.max($0, -10), 10)
            }
        }
        return normalized
    }

    /// What this runner saw since the last call, emptying the record.
    private func takeSeen() -> RunningStatistics? {
        guard let statistics = seen else { return nil }
        seen = RunningStatistics.empty(dimension: statistics.mean.count)
        return statistics
    }

    private func choose(_ observations: [Float], count: Int, mode: SamplingMode) throws -> (ActionBatch, [Float], [Float]) {
        switch mode {
        case .policy, .greedy:
            return try inference.act(observations, count: count, greedy: mode == .greedy, random: &random)
        case .epsilonGreedy(let epsilon):
            let (greedy, _) = try inference.choose(observations, count: count, greedy: true, random: &random)
            guard case .discrete(var choices) = greedy, let n = policy.spec.actionSpace.choices else {
                throw ReinforcementLearningError.invalidConfiguration("ε-greedy sampling needs a discrete action space")
            }
            for index in choices.indices where random.unit() < epsilon { choices[index] = Int(random.next() % UInt64(n)) }
            return (.discrete(choices), [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
        case .uniform:
            let space = policy.spec.actionSpace
            let actions = (0..<count).map { _ in space.sample(using: &random) }
            let batch: ActionBatch =
                space.choices != nil
                ? .discrete(actions.map { if case .discrete(let c) = $0 { c } else { 0 } })
                : .continuous(
                    actions.flatMap { action -> [Float] in if case .continuous(let v) = action { v } else { [] } },
                    dimension: space.dimension)
            return (batch, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
        }
    }
}

extension Duration {
    /// This duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
