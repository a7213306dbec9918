/// N environments stepped together, each reset as soon as its episode ends (Stable-Baselines3's
/// and RLlib's convention: the step that ends an episode returns the next episode's first
/// observation, and the last one of the finished episode in ``VectorStep/finalObservations``,
/// for bootstrapping a truncated episode's value).
///
/// Observations come as one flat row-major array, `count × observationDimension`, ready to
/// become a tensor. The vector keeps each finished episode's return and length.
///
/// ```swift
/// var envs = try VectorEnvironment(count: 8, seed: 1) { try catalog.make("CartPole-v1") }
/// var observations = envs.reset()
/// let step = try envs.step(Array(repeating: .discrete(1), count: 8))
/// ```
public struct VectorEnvironment: Sendable {
    private var environments: [any Environment]
    private var returns: [Double]
    private var lengths: [Int]
    private var nextSeed: UInt64?
    /// Episodes finished since ``takeCompletedEpisodes()`` was last called.
    public private(set) var completedEpisodes: [EpisodeRecord] = []
    /// The most recent observations, flat.
    public private(set) var observations: [Float] = []

    /// `count` environments from `make`; the first reset seeds environment i with `seed + i`.
    ///
    /// - Throws: ``EnvironmentError/invalidParameter(_:)`` for no environments or environments
    ///   whose spaces differ, and what `make` throws.
    public init(count: Int, seed: UInt64?, make: () throws -> any Environment) throws {
        guard count > 0 else { throw EnvironmentError.invalidParameter("a vector needs at least 1 environment, not \(count)") }
        let made = try (0..<count).map { _ in try make() }
        guard made.allSatisfy({ $0.observationSpace == made[0].observationSpace && $0.actionSpace == made[0].actionSpace })
        else { throw EnvironmentError.invalidParameter("the environments of a vector must share their spaces") }
        environments = made
        returns = Array(repeating: 0, count: count)
        lengths = Array(repeating: 0, count: count)
        nextSeed = seed
    }

    /// How many environments step together.
    public var count: Int { environments.count }
    /// The observation space of one environment.
    public var observationSpace: Space { environments[0].observationSpace }
    /// The action space of one environment.
    public var actionSpace: Space { environments[0].actionSpace }
    /// The length of one environment's observation.
    public var observationDimension: Int { observationSpace.dimension }

    /// Resets every environment and returns their first observations, flat. The first reset
    /// uses the seeds given at creation; later ones go on with each environment's generator.
    @discardableResult
    public mutating func reset() -> [Float] {
        var flat: [Float] = []
        flat.reserveCapacity(count * observationDimension)
        for index in environments.indices {
            flat.append(contentsOf: environments[index].reset(seed: nextSeed.map { $0 &+ UInt64(index) }))
            returns[index] = 0
            lengths[index] = 0
        }
        nextSeed = nil
        observations = flat
        return flat
    }

    /// Steps environment i with `actions[i]`, resetting those whose episodes end.
    ///
    /// - Throws: ``EnvironmentError/actionCount(expected:given:)``, an environment's error (an
    ///   action outside the space), or ``EnvironmentError/needsReset`` before ``reset()``. A
    ///   step that throws leaves environments before the failing one stepped.
    public mutating func step(_ actions: [Action]) throws(EnvironmentError) -> VectorStep {
        guard actions.count == count else { throw .actionCount(expected: count, given: actions.count) }
        guard observations.count == count * observationDimension else { throw .needsReset }
        var result = VectorStep(count: count)
        var flat: [Float] = []
        flat.reserveCapacity(observations.count)
        for index in environments.indices {
            let step = try environments[index].step(actions[index])
            returns[index] += step.reward
            lengths[index] += 1
            result.rewards[index] = step.reward
            result.terminated[index] = step.terminated
            result.truncated[index] = step.truncated
            if step.isDone {
                result.finalObservations[index] = step.observation
                completedEpisodes.append(EpisodeRecord(totalReward: returns[index], length: lengths[index]))
                returns[index] = 0
                lengths[index] = 0
                flat.append(contentsOf: environments[index].reset(seed: nil))
            } else {
                flat.append(contentsOf: step.observation)
            }
        }
        observations = flat
        result.observations = flat
        return result
    }

    /// The finished episodes recorded so far, emptying the record.
    public mutating func takeCompletedEpisodes() -> [EpisodeRecord] {
        defer { completedEpisodes = [] }
        return completedEpisodes
    }
}

/// What one step of a ``VectorEnvironment`` returns, one entry per environment.
public struct VectorStep: Sendable, Equatable {
    /// The next observations, flat (a reset environment's first one).
    public var observations: [Float] = []
    public var rewards: [Double]
    public var terminated: [Bool]
    public var truncated: [Bool]
    /// The last observation of each episode that ended on this step, by environment index.
    public var finalObservations: [Int: [Float]] = [:]

    init(count: Int) {
        rewards = Array(repeating: 0, count: count)
        terminated = Array(repeating: false, count: count)
        truncated = Array(repeating: false, count: count)
    }
}
