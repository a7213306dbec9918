import Foundation

/// Synchronous HyperBand (Li et al. 2018), as Ray Tune's `HyperBandScheduler`: trials fill
/// brackets one after another, bracket s (from s_max down to 0, then again) holding
/// ⌈(s_max + 1) / (s + 1) · η^s⌉ trials that first run to maxSteps · η^(−s) steps. Each bracket
/// runs successive halving: a trial reaching the bracket's milestone is paused
/// (``SchedulerDecision/pause``); once every trial of the bracket still alive waits there, the
/// best ⌊n / η⌋ (at least one) go on to a milestone η times further and the others stop. A trial
/// reaching maxSteps is done.
///
/// A bracket that cannot fill, because the experiment has no more trials to start, halves with
/// the trials it has. Paused trials continue from their latest checkpoint, so a trainable should
/// send one with its reports.
public struct HyperBandScheduler: TrialScheduler {
    public let objective: Objective
    public let maxSteps: Int
    public let reductionFactor: Int

    /// One bracket: its size, its current milestone, its trials still alive, and the values of
    /// those waiting at the milestone.
    struct Bracket {
        let capacity: Int
        var milestone: Int
        var members: [Int] = []
        var alive: Set<Int> = []
        var waiting: [Int: Double] = [:]

        var isFull: Bool { members.count >= capacity }
    }

    private(set) var brackets: [Bracket] = []
    private var bracketOfTrial: [Int: Int] = [:]
    /// The largest s: brackets run s_max … 0.
    let largestBracket: Int

    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` (naming the setting) for
    ///   maxSteps below 1 or a reduction factor below 2.
    public init(objective: Objective, maxSteps: Int = 81, reductionFactor: Int = 3) throws(TuneError) {
        guard maxSteps >= 1 else { throw .invalidDistribution(parameter: "maxSteps", reason: "\(maxSteps) is below 1") }
        guard reductionFactor >= 2 else {
            throw .invalidDistribution(parameter: "reductionFactor", reason: "\(reductionFactor) is below 2")
        }
        self.objective = objective
        self.maxSteps = maxSteps
        self.reductionFactor = reductionFactor
        // s_max = ⌊log_η(maxSteps)⌋, rounded as Ray does (81 and η 3 give 4).
        largestBracket = Int((log(Double(maxSteps)) / log(Double(reductionFactor)) * 1e5).rounded() / 1e5)
    }

    /// The trials bracket `s` holds, and the steps they first run.
    func shape(of s: Int) -> (capacity: Int, milestone: Int) {
        let eta = Double(reductionFactor)
        let capacity = Int((Double(largestBracket + 1) / Double(s + 1) * pow(eta, Double(s))).rounded(.up))
        let milestone = max(1, Int(Double(maxSteps) * pow(eta, Double(-s))))
        return (capacity, milestone)
    }

    public mutating func trialStarted(_ trial: Int, configuration: Configuration) {
        guard bracketOfTrial[trial] == nil else { return }
        if brackets.last?.isFull ?? true {
            let s = largestBracket - brackets.count % (largestBracket + 1)
            let (capacity, milestone) = shape(of: s)
            brackets.append(Bracket(capacity: capacity, milestone: milestone))
        }
        brackets[brackets.count - 1].members.append(trial)
        brackets[brackets.count - 1].alive.insert(trial)
        bracketOfTrial[trial] = brackets.count - 1
    }

    public mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision {
        if step >= maxSteps { return .finish }
        guard let b = bracketOfTrial[trial], step >= brackets[b].milestone else { return .continue }
        brackets[b].waiting[trial] = value.isNaN ? -.infinity : objective.reward(value)
        return .pause
    }

    public mutating func trialEnded(_ trial: Int, state: TrialState) {
        guard let b = bracketOfTrial[trial] else { return }
        brackets[b].alive.remove(trial)
        brackets[b].waiting[trial] = nil
    }

    public mutating func pausedTrials(_ paused: [Int], moreTrialsComing: Bool) -> [Int: SchedulerDecision] {
        var decisions: [Int: SchedulerDecision] = [:]
        for b in brackets.indices {
            let bracket = brackets[b]
            guard !bracket.waiting.isEmpty, Set(bracket.waiting.keys) == bracket.alive, bracket.isFull || !moreTrialsComing else {
                continue
            }
            // Successive halving: the best ⌊n / η⌋ (at least one) go on; ties to the earlier trial.
            let ranked = bracket.waiting.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
            let kept = max(1, ranked.count / reductionFactor)
            for trial in ranked.prefix(kept) { decisions[trial] = .continue }
            for trial in ranked.dropFirst(kept) { decisions[trial] = .stop }
            brackets[b].waiting = [:]
            brackets[b].milestone = min(bracket.milestone * reductionFactor, maxSteps)
        }
        return decisions.filter { paused.contains($0.key) }
    }
}
