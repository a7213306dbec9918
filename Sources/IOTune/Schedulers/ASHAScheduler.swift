#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asynchronous successive halving (Li et al. 2018), as Ray Tune's `ASHAScheduler` with one
/// bracket: rungs at `gracePeriod · reductionFactor^k` steps up to `maxSteps`. The first time a
/// trial reaches a rung (the highest one it has reached and not yet been judged at), it is
/// compared with the trials recorded there before it: below the top `1 / reductionFactor` of
/// them (the `1 − 1/rf` quantile, interpolated as NumPy does) it stops; either way its value is
/// recorded at that rung. A trial at `maxSteps` stops: it is done.
///
/// Defaults as Ray Tune: `maxSteps` 100, `gracePeriod` 1, `reductionFactor` 4.
public struct ASHAScheduler: TrialScheduler {
    public let objective: Objective
    public let maxSteps: Int
    public let gracePeriod: Int
    public let reductionFactor: Double
    /// The rungs from the highest milestone down, each with the rewards recorded there by trial.
    public private(set) var rungs: [(milestone: Int, recorded: [Int: Double])]

    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` (naming the setting) for a
    ///   grace period below 1 or above `maxSteps`, or a reduction factor not above 1.
    public init(objective: Objective, maxSteps: Int = 100, gracePeriod: Int = 1, reductionFactor: Double = 4) throws(TuneError) {
        guard gracePeriod >= 1, gracePeriod <= maxSteps else {
            throw .invalidDistribution(parameter: "gracePeriod", reason: "\(gracePeriod) is not within 1...\(maxSteps)")
        }
        guard reductionFactor > 1 else {
            throw .invalidDistribution(parameter: "reductionFactor", reason: "\(reductionFactor) is not above 1")
        }
        self.objective = objective
        self.maxSteps = maxSteps
        self.gracePeriod = gracePeriod
        self.reductionFactor = reductionFactor
        let count = Int(log(Double(maxSteps) / Double(gracePeriod)) / log(reductionFactor) + 1)
        rungs = (0..<count).reversed().map { k in (Int(Double(gracePeriod) * pow(reductionFactor, Double(k))), [:]) }
    }

    public mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision {
        if step >= maxSteps { return .stop }
        let reward = objective.reward(value)
        for index in rungs.indices where step >= rungs[index].milestone && rungs[index].recorded[trial] == nil {
            let recorded = Array(rungs[index].recorded.values)
            var decision = SchedulerDecision.continue
            if !recorded.isEmpty, reward < quantile(recorded, 1 - 1 / reductionFactor) { decision = .stop }
            if reward.isFinite { rungs[index].recorded[trial] = reward }
            return decision
        }
        return .continue
    }
}
