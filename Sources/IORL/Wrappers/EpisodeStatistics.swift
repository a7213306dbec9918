import IORuntime

/// One finished episode: its undiscounted return and its length in steps.
public struct EpisodeRecord: Sendable, Equatable, WireCodable {
    public var totalReward: Double
    public var length: Int

    public init(totalReward: Double, length: Int) {
        self.totalReward = totalReward
        self.length = length
    }
}

/// Records each episode's return and length (Gymnasium's `RecordEpisodeStatistics`), measured
/// on the rewards that reach it: put it inside a reward normaliser to record the raw returns.
public struct EpisodeStatistics<Base: Environment>: Environment {
    public var base: Base
    /// The episodes finished so far, oldest first.
    public var completed: [EpisodeRecord] = []
    private var current = EpisodeRecord(totalReward: 0, length: 0)

    public init(_ base: Base) { self.base = base }

    public var observationSpace: Space { base.observationSpace }
    public var actionSpace: Space { base.actionSpace }

    public mutating func reset(seed: UInt64?) -> [Float] {
        current = EpisodeRecord(totalReward: 0, length: 0)
        return base.reset(seed: seed)
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        let step = try base.step(action)
        current.totalReward += step.reward
        current.length += 1
        if step.isDone {
            completed.append(current)
            current = EpisodeRecord(totalReward: 0, length: 0)
        }
        return step
    }
}
