/// Standardises observations with running statistics of every observation seen (Gymnasium's
/// `NormalizeObservation`). Set ``isUpdating`` to false to freeze the statistics (evaluation),
/// and ``statistics`` to restore them from a checkpoint.
public struct NormalizeObservation<Base: Environment>: Environment {
    public var base: Base
    /// The running statistics of the raw observations.
    public var statistics: RunningStatistics
    /// Whether new observations update the statistics.
    public var isUpdating = true

    public init(_ base: Base) {
        self.base = base
        statistics = RunningStatistics(dimension: base.observationSpace.dimension)
    }

    public var observationSpace: Space {
        let dimension = base.observationSpace.dimension
        let big = Float.greatestFiniteMagnitude
        return .box(low: Array(repeating: -big, count: dimension), high: Array(repeating: big, count: dimension))
    }
    public var actionSpace: Space { base.actionSpace }

    public mutating func reset(seed: UInt64?) -> [Float] { normalized(base.reset(seed: seed)) }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        var step = try base.step(action)
        step.observation = normalized(step.observation)
        return step
    }

    private mutating func normalized(_ observation: [Float]) -> [Float] {
        if isUpdating { statistics.update(observation.map(Double.init)) }
        return statistics.normalize(observation)
    }
}

/// Scales rewards by the running standard deviation of the discounted return (Gymnasium's
/// `NormalizeReward`): rewards keep their sign, and returns of very different sizes become
/// comparable for a value function.
public struct NormalizeReward<Base: Environment>: Environment {
    public var base: Base
    /// The discount of the return whose spread scales the rewards.
    public let discount: Double
    /// The running statistics of the discounted return.
    public var statistics = RunningStatistics(dimension: 1)
    /// Whether new rewards update the statistics.
    public var isUpdating = true
    private var discountedReturn = 0.0

    public init(_ base: Base, discount: Double = 0.99) {
        self.base = base
        self.discount = discount
    }

    public var observationSpace: Space { base.observationSpace }
    public var actionSpace: Space { base.actionSpace }

    public mutating func reset(seed: UInt64?) -> [Float] { base.reset(seed: seed) }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        var step = try base.step(action)
        discountedReturn = discountedReturn * discount * (step.terminated ? 0 : 1) + step.reward
        if isUpdating { statistics.update([discountedReturn]) }
        step.reward /= (statistics.variance[0] + 1e-8).squareRoot()
        if step.isDone { discountedReturn = 0 }
        return step
    }
}
