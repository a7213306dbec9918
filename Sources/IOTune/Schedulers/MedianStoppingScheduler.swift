/// Median stopping, as Optuna's `MedianPruner`: after `warmupSteps`, a trial whose best value so
/// far is worse than the median of what the completed trials reported at the same step stops.
/// Nothing stops until `startupTrials` (5) trials have completed.
public struct MedianStoppingScheduler: TrialScheduler {
    public let objective: Objective
    public let startupTrials: Int
    public let warmupSteps: Int
    /// Each trial's values by step, and which trials completed.
    private var values: [Int: [Int: Double]] = [:]
    private var completed: Set<Int> = []

    public init(objective: Objective, startupTrials: Int = 5, warmupSteps: Int = 0) {
        self.objective = objective
        self.startupTrials = startupTrials
        self.warmupSteps = warmupSteps
    }

    public mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision {
        values[trial, default: [:]][step] = value
        guard completed.count >= startupTrials, step > warmupSteps else { return .continue }
        let others = completed.compactMap { values[$0]?[step] }.filter(\.isFinite)
        guard !others.isEmpty else { return .continue }
        let rewards = values[trial]!.values.filter(\.isFinite).map(objective.reward)
        guard let best = rewards.max() else { return .stop }  // Only NaNs: nothing to keep it for.
        return best < quantile(others.map(objective.reward), 0.5) ? .stop : .continue
    }

    public mutating func trialEnded(_ trial: Int, state: TrialState) {
        if state == .completed { completed.insert(trial) }
    }
}
