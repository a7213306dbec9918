import IORuntime

/// A block of experience from one env runner: `steps` steps of `environments` environments,
/// time-major (row `t * environments + e` is environment e at step t), with what the behaviour
/// policy computed when it acted, so that a learner can compute advantages and importance
/// ratios without running the environments again.
public struct Rollout: Sendable, WireSerializable {
    public var steps: Int
    public var environments: Int
    public var observationDimension: Int
    /// Observations before each action, `[steps × environments × observationDimension]`.
    public var observations: [Float]
    /// The actions taken.
    public var actions: ActionBatch
    public var rewards: [Float]
    public var terminated: [Bool]
    public var truncated: [Bool]
    /// log μ(a|s) under the policy that acted.
    public var logProbabilities: [Float]
    /// V(s) under the policy that acted.
    public var values: [Float]
    /// For a step whose episode was truncated, V of the episode's last observation (its value
    /// still counts); 0 elsewhere.
    public var truncationValues: [Float]
    /// The last observation of each truncated episode, in row order (flat), for learners that
    /// bootstrap from it themselves (DQN).
    public var truncationObservations: [Float]
    /// V of each environment's observation after the last step, `[environments]`.
    public var lastValues: [Float]
    /// The observations after the last step, `[environments × observationDimension]` (for
    /// learners that recompute values, as V-trace does).
    public var lastObservations: [Float]
    /// The episodes that finished during this rollout.
    public var episodes: [EpisodeRecord]
    /// The weights version that acted.
    public var policyVersion: Int
    /// Seconds the runner spent collecting it.
    public var seconds: Double
    /// The raw observations the runner saw, summarised, when it normalises observations (its
    /// arrays then hold the standardised ones the policy saw).
    public var observationStatistics: RunningStatistics?

    /// How many transitions it holds.
    public var count: Int { steps * environments }

    public init(
        steps: Int, environments: Int, observationDimension: Int, observations: [Float], actions: ActionBatch, rewards: [Float],
        terminated: [Bool], truncated: [Bool], logProbabilities: [Float], values: [Float], truncationValues: [Float],
        truncationObservations: [Float],
        lastValues: [Float], lastObservations: [Float], episodes: [EpisodeRecord], policyVersion: Int, seconds: Double,
        observationStatistics: RunningStatistics? = nil
    ) {
        self.steps = steps
        self.environments = environments
        self.observationDimension = observationDimension
        self.observations = observations
        self.actions = actions
        self.rewards = rewards
        self.terminated = terminated
        self.truncated = truncated
        self.logProbabilities = logProbabilities
        self.values = values
        self.truncationValues = truncationValues
        self.truncationObservations = truncationObservations
        self.lastValues = lastValues
        self.lastObservations = lastObservations
        self.episodes = episodes
        self.policyVersion = policyVersion
        self.seconds = seconds
        self.observationStatistics = observationStatistics
    }

    /// Checks that every array has the length the counts say (a rollout from another process
    /// is checked before a learner uses it).
    public func validate() throws(ReinforcementLearningError) {
        let n = count
        let perStep = [rewards.count, terminated.count, truncated.count, logProbabilities.count, values.count, truncationValues.count]
        guard steps > 0, environments > 0, observationDimension > 0, observations.count == n * observationDimension,
            actions.count == n, perStep.allSatisfy({ $0 == n }), lastValues.count == environments,
            lastObservations.count == environments * observationDimension,
            truncationObservations.count == zip(truncated, terminated).filter({ $0 && !$1 }).count * observationDimension
        else { throw .shapeMismatch("a rollout's arrays do not match its \(steps) steps × \(environments) environments") }
    }

    public func encode(to encoder: inout WireEncoder) {
        for count in [steps, environments, observationDimension, policyVersion] { encoder.writeLength(count) }
        encoder.write(seconds)
        observations.encode(to: &encoder)
        switch actions {
        case .discrete(let choices):
            encoder.write(UInt8(0))
            choices.encode(to: &encoder)
        case .continuous(let values, let dimension):
            encoder.write(UInt8(1))
            encoder.writeLength(dimension)
            values.encode(to: &encoder)
        }
        for floats in [rewards, logProbabilities, values, truncationValues, truncationObservations, lastValues, lastObservations] {
            floats.encode(to: &encoder)
        }
        terminated.encode(to: &encoder)
        truncated.encode(to: &encoder)
        encoder.write(observationStatistics != nil)
        observationStatistics?.encode(to: &encoder)
        encoder.writeLength(episodes.count)
        for episode in episodes {
            encoder.write(episode.totalReward)
            encoder.writeLength(episode.length)
        }
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        steps = try decoder.readLength()
        environments = try decoder.readLength()
        observationDimension = try decoder.readLength()
        policyVersion = try decoder.readLength()
        seconds = try decoder.read(Double.self)
        observations = try [Float](from: &decoder)
        switch try decoder.read(UInt8.self) {
        case 0: actions = .discrete(try [Int](from: &decoder))
        case 1:
            let dimension = try decoder.readLength()
            actions = .continuous(try [Float](from: &decoder), dimension: dimension)
        case let tag: throw .invalid(what: "rollout actions", reason: "tag \(tag)")
        }
        rewards = try [Float](from: &decoder)
        logProbabilities = try [Float](from: &decoder)
        values = try [Float](from: &decoder)
        truncationValues = try [Float](from: &decoder)
        truncationObservations = try [Float](from: &decoder)
        lastValues = try [Float](from: &decoder)
        lastObservations = try [Float](from: &decoder)
        terminated = try [Bool](from: &decoder)
        truncated = try [Bool](from: &decoder)
        observationStatistics = try decoder.read(Bool.self) ? try RunningStatistics(from: &decoder) : nil
        let episodeCount = try decoder.readLength()
        guard episodeCount <= steps * environments else {
            throw .invalid(what: "rollout", reason: "\(episodeCount) episodes in \(steps * environments) steps")
        }
        var episodes: [EpisodeRecord] = []
        for _ in 0..<episodeCount {
            episodes.append(EpisodeRecord(totalReward: try decoder.read(Double.self), length: try decoder.readLength()))
        }
        self.episodes = episodes
        do { try validate() } catch { throw .invalid(what: "rollout", reason: error.description) }
    }
}
