import IORuntime
import Logging
import Synchronization

/// A trainer's env runners: one actor per configuration, spread over the cluster's workers, each
/// rebuilt with the same configuration when it is lost.
///
/// Weights reach the runners through the object store: each version is put there once
/// (``publish(_:)``) and every call carries only its ``PublishedPolicy``; a runner reads the
/// weights when their version is new to it.
///
/// A runner whose worker dies is restarted by the runtime (`ActorOptions.maxRestarts`) and the
/// interrupted call is made again; a runner that is gone for good (out of restarts, or killed)
/// is replaced by a new one from the same configuration. Either way the iteration gets its
/// rollout and training goes on; ``replacements`` counts both.
public final class RunnerGroup: Sendable {
    public let cluster: Cluster
    /// Each runner's configuration, by index.
    public let configurations: [RunnerConfiguration]
    private let options: ActorOptions
    private let runners: Mutex<[EnvRunner]>
    private let replaced = Atomic<Int>(0)
    private let maxReplacementsPerCall: Int
    private let logger = Logger(label: "iocompute.rl.runners")
    /// The latest version put in the object store; the one before it is freed once no call holds it.
    private let latest = Mutex<PublishedPolicy?>(nil)

    /// Starts `count` runners of `environment`, each with `environmentsPerRunner` copies; runner
    /// i is seeded `seed + 1000·i`.
    ///
    /// - Throws: ``ReinforcementLearningError/invalidConfiguration(_:)`` for no runners or
    ///   environments; a spawn's error (an unknown environment, a policy that does not fit it,
    ///   or a registry without `Registry.environmentRunners(_:)`).
    public init(
        cluster: Cluster, environment: String, count: Int, environmentsPerRunner: Int, policy: PolicySpec, seed: UInt64,
        normalizesObservations: Bool = false, options: ActorOptions = ActorOptions(placement: .spread, maxRestarts: 2),
        maxReplacementsPerCall: Int = 3
    ) async throws {
        guard count > 0, environmentsPerRunner > 0 else {
            throw ReinforcementLearningError.invalidConfiguration("a runner group needs at least 1 runner of at least 1 environment")
        }
        self.cluster = cluster
        self.options = options
        self.maxReplacementsPerCall = maxReplacementsPerCall
        configurations = (0..<count).map {
            RunnerConfiguration(
                environment: environment, environmentsPerRunner: environmentsPerRunner, policy: policy, seed: seed &+ UInt64($0) &* 1000,
                normalizesObservations: normalizesObservations)
        }
        var started: [EnvRunner] = []
        for configuration in configurations {
            started.append(try await cluster.spawn(EnvRunner.self, with: configuration, options: options))
        }
        runners = Mutex(started)
    }

    /// Whether the runners standardise observations with shared statistics.
    public var normalizesObservations: Bool { configurations.first?.normalizesObservations ?? false }

    /// How many runners there are.
    public var count: Int { configurations.count }
    /// The runners as they are now.
    public var members: [EnvRunner] { runners.withLock { $0 } }
    /// Calls that had to be made again because their runner was lost.
    public var replacements: Int { replaced.load(ordering: .relaxed) }

    /// Runs `call` on runner `index`, making it again after a loss: on the restarted runner, or
    /// on a new one from the same configuration.
    public func withRunner<Result: Sendable>(_ index: Int, _ call: @Sendable (EnvRunner) async throws -> Result) async throws -> Result {
        var attempts = 0
        while true {
            let runner = runners.withLock { $0[index] }
            do {
                return try await call(runner)
            } catch let error as ActorError {
                attempts += 1
                guard attempts <= maxReplacementsPerCall else { throw error }
                replaced.add(1, ordering: .relaxed)
                switch error {
                case .callInterrupted:
                    logger.warning("env runner \(index) was interrupted (\(error)); calling it again once it has restarted")
                case .actorDied, .notFound:
                    logger.warning("env runner \(index) is gone (\(error)); starting a new one")
                    let fresh = try await cluster.spawn(EnvRunner.self, with: configurations[index], options: options)
                    runners.withLock { $0[index] = fresh }
                default:
                    throw error
                }
            }
        }
    }

    /// Puts `weights` in the object store, once per version: the same version published again
    /// gives the same ``PublishedPolicy``.
    public func publish(_ weights: PolicyWeights) async throws -> PublishedPolicy {
        if let latest = latest.withLock({ $0 }), latest.version == weights.version { return latest }
        let published = PublishedPolicy(version: weights.version, weights: try await cluster.put(weights).borrowed)
        latest.withLock { $0 = published }
        return published
    }

    /// One rollout of `steps` steps from every runner, gathered concurrently, in runner order;
    /// `weights` (when not `nil`) are published first and read by the runners from the store.
    public func sampleAll(weights: PolicyWeights?, steps: Int, mode: SamplingMode) async throws -> [Rollout] {
        let policy: PublishedPolicy? = if let weights { try await publish(weights) } else { nil }
        return try await withThrowingTaskGroup(of: (Int, Rollout).self) { group in
            for index in 0..<count {
                group.addTask {
                    (index, try await self.withRunner(index) { try await $0.sample(policy: policy, steps: steps, mode: mode) })
                }
            }
            var rollouts = [Rollout?](repeating: nil, count: count)
            for try await (index, rollout) in group { rollouts[index] = rollout }
            return rollouts.compactMap { $0 }
        }
    }

    /// One episode per seed, the seeds dealt round-robin over the runners: evaluation returns in
    /// seed order.
    public func evaluate(weights: PolicyWeights, seeds: [UInt64], greedy: Bool) async throws -> [EpisodeRecord] {
        let policy = try await publish(weights)
        return try await withThrowingTaskGroup(of: (Int, [EpisodeRecord]).self) { group in
            for index in 0..<count {
                let share = stride(from: index, to: seeds.count, by: count).map { seeds[$0] }
                guard !share.isEmpty else { continue }
                group.addTask {
                    (index, try await self.withRunner(index) { try await $0.evaluate(policy: policy, seeds: share, greedy: greedy) })
                }
            }
            var byRunner: [Int: [EpisodeRecord]] = [:]
            for try await (index, records) in group { byRunner[index] = records }
            return seeds.indices.map { byRunner[$0 % count]![$0 / count] }
        }
    }

    /// Stops every runner.
    public func shutdown() {
        for runner in members { cluster.kill(runner) }
    }
}
