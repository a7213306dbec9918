import IOTensor

/// A fixed-size buffer of transitions (s, a, r, s′, terminated) that overwrites its oldest
/// when full and hands out uniform random minibatches: DQN's experience replay.
public struct ReplayBuffer: Sendable {
    public let capacity: Int
    public let observationDimension: Int
    private var observations: [Float]
    private var nextObservations: [Float]
    private var actions: [Int]
    private var rewards: [Float]
    private var terminated: [Bool]
    private var next = 0
    /// How many transitions it holds.
    public private(set) var count = 0

    /// - Throws: ``ReinforcementLearningError/invalidConfiguration(_:)`` for a non-positive size.
    public init(capacity: Int, observationDimension: Int) throws {
        guard capacity > 0, observationDimension > 0 else {
            throw ReinforcementLearningError.invalidConfiguration("a replay buffer needs a positive capacity and observation size")
        }
        self.capacity = capacity
        self.observationDimension = observationDimension
        observations = Array(repeating: 0, count: capacity * observationDimension)
        nextObservations = observations
        actions = Array(repeating: 0, count: capacity)
        rewards = Array(repeating: 0, count: capacity)
        terminated = Array(repeating: false, count: capacity)
    }

    /// Adds one transition, overwriting the oldest when full.
    public mutating func append(
        observation: ArraySlice<Float>, action: Int, reward: Float, nextObservation: ArraySlice<Float>, terminated: Bool
    ) {
        let base = next * observationDimension
        observations.replaceSubrange(base..<(base + observationDimension), with: observation)
        nextObservations.replaceSubrange(base..<(base + observationDimension), with: nextObservation)
        actions[next] = action
        rewards[next] = reward
        self.terminated[next] = terminated
        next = (next + 1) % capacity
        count = Swift.min(count + 1, capacity)
    }

    /// Adds every transition of a rollout of discrete actions. The next observation of a step
    /// is the following step's, the rollout's last one, or — for a truncated episode — the
    /// episode's last observation (a terminated step's is never used).
    public mutating func append(_ rollout: Rollout) throws {
        try rollout.validate()
        guard rollout.observationDimension == observationDimension, case .discrete(let choices) = rollout.actions else {
            throw ReinforcementLearningError.shapeMismatch(
                "a replay buffer of observations of \(observationDimension) holds discrete actions only")
        }
        let (n, d) = (rollout.environments, observationDimension)
        var truncation = 0
        for row in 0..<rollout.count {
            let observation = rollout.observations[(row * d)..<((row + 1) * d)]
            let nextObservation: ArraySlice<Float>
            if rollout.truncated[row] && !rollout.terminated[row] {
                nextObservation = rollout.truncationObservations[(truncation * d)..<((truncation + 1) * d)]
                truncation += 1
            } else if row + n < rollout.count {
                nextObservation = rollout.observations[((row + n) * d)..<((row + n + 1) * d)]
            } else {
                let environment = row % n
                nextObservation = rollout.lastObservations[(environment * d)..<((environment + 1) * d)]
            }
            append(
                observation: observation, action: choices[row], reward: rollout.rewards[row], nextObservation: nextObservation,
                terminated: rollout.terminated[row])
        }
    }

    /// `size` transitions drawn uniformly with replacement.
    public func sample(_ size: Int, using random: inout SplitMix64) -> ReplayBatch {
        let rows = (0..<size).map { _ in Int(random.next() % UInt64(Swift.max(count, 1))) }
        return ReplayBatch(
            observations: rows.flatMap { observations[($0 * observationDimension)..<(($0 + 1) * observationDimension)] },
            actions: rows.map { actions[$0] }, rewards: rows.map { rewards[$0] },
            nextObservations: rows.flatMap { nextObservations[($0 * observationDimension)..<(($0 + 1) * observationDimension)] },
            terminated: rows.map { terminated[$0] })
    }
}

/// A minibatch of transitions, flat.
public struct ReplayBatch: Sendable, Equatable {
    public var observations: [Float]
    public var actions: [Int]
    public var rewards: [Float]
    public var nextObservations: [Float]
    public var terminated: [Bool]

    public init(observations: [Float], actions: [Int], rewards: [Float], nextObservations: [Float], terminated: [Bool]) {
        self.observations = observations
        self.actions = actions
        self.rewards = rewards
        self.nextObservations = nextObservations
        self.terminated = terminated
    }

    public var count: Int { actions.count }
}
