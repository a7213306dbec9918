#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asynchronous successive halving (Li et al. 2018), as Ray Tune's `ASHAScheduler`: rungs at
/// `gracePeriod · reductionFactor^k` steps up to `maxSteps`. The first time a trial reaches a
/// rung (the highest one it has reached and not yet been judged at), it is compared with the
/// trials recorded there before it: below the top `1 / reductionFactor` of them (the `1 − 1/rf`
/// quantile, interpolated as NumPy does) it stops; either way its value is recorded at that rung.
/// A trial at `maxSteps` is done: ``SchedulerDecision/finish``.
///
/// With `brackets` above 1 it is asynchronous HyperBand, as Ray Tune's: bracket `s` starts its
/// rungs at `gracePeriod · reductionFactor^s` (fewer, later rungs: less aggressive stopping), and
/// each trial joins one bracket, drawn with weights proportional to e^(its rung count), from a
/// stream seeded by `seed` and the trial's number.
///
/// Defaults as Ray Tune: `maxSteps` 100, `gracePeriod` 1, `reductionFactor` 4, one bracket.
public struct ASHAScheduler: TrialScheduler {
    public typealias Rung = (milestone: Int, recorded: [Int: Double])

    public let objective: Objective
    public let maxSteps: Int
    public let gracePeriod: Int
    public let reductionFactor: Double
    public let seed: UInt64
    /// Each bracket's rungs from the highest milestone down, each with the rewards recorded there
    /// by trial.
    public private(set) var brackets: [[Rung]]
    /// The bracket each trial joined.
    public private(set) var bracketOfTrial: [Int: Int] = [:]

    /// The first bracket's rungs.
    public var rungs: [Rung] { brackets[0] }

    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` (naming the setting) for a
    ///   grace period below 1 or above `maxSteps`, a reduction factor not above 1, or more
    ///   brackets than rungs.
    public init(
        objective: Objective, maxSteps: Int = 100, gracePeriod: Int = 1, reductionFactor: Double = 4, brackets: Int = 1,
        seed: UInt64 = 0
    ) throws(TuneError) {
        guard gracePeriod >= 1, gracePeriod <= maxSteps else {
            throw .invalidDistribution(parameter: "gracePeriod", reason: "\(gracePeriod) is not within 1...\(maxSteps)")
        }
        guard reductionFactor > 1 else {
            throw .invalidDistribution(parameter: "reductionFactor", reason: "\(reductionFactor) is not above 1")
        }
        let count = Int(log(Double(maxSteps) / Double(gracePeriod)) / log(reductionFactor) + 1)
        guard brackets >= 1, brackets <= count else {
            throw .invalidDistribution(parameter: "brackets", reason: "\(brackets) is not within 1...\(count), the number of rungs")
        }
        self.objective = objective
        self.maxSteps = maxSteps
        self.gracePeriod = gracePeriod
        self.reductionFactor = reductionFactor
        self.seed = seed
        self.brackets = (0..<brackets).map { s in
            (0..<(count - s)).reversed().map { k in (Int(Double(gracePeriod) * pow(reductionFactor, Double(k + s))), [:]) }
        }
    }

    /// The bracket trial `trial` joins (drawn once, then kept).
    mutating func bracket(of trial: Int) -> Int {
        if let bracket = bracketOfTrial[trial] { return bracket }
        var bracket = 0
        if brackets.count > 1 {
            let largest = Double(brackets[0].count)
            let weights = brackets.map { exp(Double($0.count) - largest) }
            var random = TuneRandom(seed: seed, trial: trial, parameter: "asha.bracket")
            var u = random.unit() * weights.reduce(0, +)
            for (index, weight) in weights.enumerated() {
                bracket = index
                if u < weight { break }
                u -= weight
            }
        }
        bracketOfTrial[trial] = bracket
        return bracket
    }

    public mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision {
        if step >= maxSteps { return .finish }
        let reward = objective.reward(value)
        let b = bracket(of: trial)
        for index in brackets[b].indices where step >= brackets[b][index].milestone && brackets[b][index].recorded[trial] == nil {
            let recorded = Array(brackets[b][index].recorded.values)
            var decision = SchedulerDecision.continue
            if !recorded.isEmpty, reward < quantile(recorded, 1 - 1 / reductionFactor) { decision = .stop }
            if reward.isFinite { brackets[b][index].recorded[trial] = reward }
            return decision
        }
        return .continue
    }
}
