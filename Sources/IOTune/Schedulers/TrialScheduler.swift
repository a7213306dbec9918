/// Whether a search looks for the lowest or the highest value of its metric.
public enum Objective: String, Sendable, Hashable, Codable {
    case minimize, maximize

    /// `value` turned so that higher is better.
    func reward(_ value: Double) -> Double { self == .maximize ? value : -value }
}

/// What a scheduler tells a trial after a report; the trial learns it at its next report.
public enum SchedulerDecision: Sendable, Hashable, Codable {
    /// Go on training.
    case `continue`
    /// Stop for now; the scheduler may resume it later (HyperBand's synchronous brackets).
    case pause
    /// Stop for good: it is not promising enough.
    case stop
    /// End it as completed: it has had the whole budget the scheduler gives a trial.
    case finish
    /// Go on from trial `from`'s latest checkpoint with `configuration` (PBT's exploit and
    /// explore): the trial's own progress is dropped.
    case exploit(from: Int, configuration: Configuration)
}

/// Decides, report by report, which trials go on: early stopping (ASHA, median stopping) or
/// none (FIFO).
public protocol TrialScheduler: Sendable {
    /// What trial `trial` does after reporting `value` of the metric at `step` (counted from 1,
    /// one per report unless the trial says otherwise).
    mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision
    /// Trial `trial` ended, in `state`.
    mutating func trialEnded(_ trial: Int, state: TrialState)
    /// Trial `trial` starts with `configuration` (schedulers that change configurations keep them).
    mutating func trialStarted(_ trial: Int, configuration: Configuration)
    /// What becomes of trials it paused (`paused`): ``SchedulerDecision/continue`` resumes one
    /// from its latest checkpoint, ``SchedulerDecision/stop`` ends it; a trial left out stays
    /// paused. `moreTrialsComing` is false once every trial of the experiment has started. The
    /// controller asks whenever a runner is free; by default every paused trial resumes.
    mutating func pausedTrials(_ paused: [Int], moreTrialsComing: Bool) -> [Int: SchedulerDecision]
}

extension TrialScheduler {
    public mutating func trialEnded(_ trial: Int, state: TrialState) {}
    public mutating func trialStarted(_ trial: Int, configuration: Configuration) {}
    public mutating func pausedTrials(_ paused: [Int], moreTrialsComing: Bool) -> [Int: SchedulerDecision] {
        Dictionary(uniqueKeysWithValues: paused.map { ($0, .continue) })
    }
}

/// Runs every trial to its end.
public struct FIFOScheduler: TrialScheduler {
    public init() {}
    public func report(trial: Int, step: Int, value: Double) -> SchedulerDecision { .continue }
}

/// The `q`-quantile (0...1) of `values` with linear interpolation between order statistics,
/// as NumPy's default `percentile`.
func quantile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    let position = Double(sorted.count - 1) * q
    let lower = Int(position.rounded(.down))
    let upper = Swift.min(lower + 1, sorted.count - 1)
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
}
