/// How a finished trial ended.
public enum TrialState: String, Sendable, Hashable, Codable {
    /// It ran to the end and reported a final value.
    case completed
    /// A scheduler stopped it early; its last value stands for it.
    case pruned
    /// It threw past its retries.
    case errored
}

/// A finished trial, as a searcher learns from it.
public struct TrialResult: Sendable, Hashable, Codable {
    public let trial: Int
    public let configuration: Configuration
    /// The objective (lower is better to a searcher: a search that maximizes negates it), or
    /// `nil` when the trial ended without one.
    public let value: Double?
    public let state: TrialState

    public init(trial: Int, configuration: Configuration, value: Double?, state: TrialState) {
        self.trial = trial
        self.configuration = configuration
        self.value = value
        self.state = state
    }
}

/// Chooses the values trials try: asked for one parameter at a time as a trial needs it (so a
/// space may be declared up front or read define-by-run), and told every result.
public protocol Searcher: Sendable {
    /// A value for parameter `name` of trial `trial`, drawn from `distribution`.
    mutating func suggest(_ name: String, _ distribution: Distribution, trial: Int) -> ParameterValue
    /// Learns from a finished trial.
    mutating func observe(_ result: TrialResult)
}

extension Searcher {
    public mutating func observe(_ result: TrialResult) {}
}

/// Independent random draws, reproducible: trial `t`'s value for a parameter depends only on the
/// seed, `t` and the parameter's name.
public struct RandomSearcher: Searcher {
    public let seed: UInt64

    public init(seed: UInt64 = 0) { self.seed = seed }

    public func suggest(_ name: String, _ distribution: Distribution, trial: Int) -> ParameterValue {
        var random = TuneRandom(seed: seed, trial: trial, parameter: name)
        return distribution.sample(using: &random)
    }
}
