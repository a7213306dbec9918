/// Population-based training (Jaderberg et al. 2017), as Ray Tune's
/// `PopulationBasedTraining`: every `perturbationInterval` steps of a trial, the trials are ranked
/// by their latest value; a trial in the bottom `quantileFraction` (0.25) copies a random trial of
/// the top fraction (its checkpoint and configuration: *exploit*) and changes the mutable
/// parameters (*explore*): each is drawn afresh with `resampleProbability` (0.25), otherwise a
/// number is multiplied by 1.2 or 0.8 (kept inside its distribution's range, integers rounded)
/// and a choice moves to a neighbouring value.
public struct PBTScheduler: TrialScheduler {
    public let objective: Objective
    public let perturbationInterval: Int
    public let quantileFraction: Double
    public let resampleProbability: Double
    public let perturbationFactors: (Double, Double)
    /// The parameters that explore changes, with the distributions they are drawn from.
    public let mutations: SearchSpace
    private var random: TuneRandom
    private var latest: [Int: Double] = [:]
    private var lastPerturbation: [Int: Int] = [:]
    private var configurations: [Int: Configuration] = [:]

    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` for an interval below 1, a
    ///   fraction outside (0, 0.5], a probability outside [0, 1], or a mutation that cannot be
    ///   sampled.
    public init(
        objective: Objective, perturbationInterval: Int, mutations: SearchSpace, quantileFraction: Double = 0.25,
        resampleProbability: Double = 0.25, perturbationFactors: (Double, Double) = (1.2, 0.8), seed: UInt64 = 0
    ) throws(TuneError) {
        guard perturbationInterval >= 1 else {
            throw .invalidDistribution(parameter: "perturbationInterval", reason: "\(perturbationInterval) is below 1")
        }
        guard quantileFraction > 0, quantileFraction <= 0.5 else {
            throw .invalidDistribution(parameter: "quantileFraction", reason: "\(quantileFraction) is not within (0, 0.5]")
        }
        guard (0...1).contains(resampleProbability) else {
            throw .invalidDistribution(parameter: "resampleProbability", reason: "\(resampleProbability) is not within [0, 1]")
        }
        try mutations.validate()
        self.objective = objective
        self.perturbationInterval = perturbationInterval
        self.quantileFraction = quantileFraction
        self.resampleProbability = resampleProbability
        self.perturbationFactors = perturbationFactors
        self.mutations = mutations
        random = TuneRandom(seed: seed)
    }

    public mutating func trialStarted(_ trial: Int, configuration: Configuration) {
        configurations[trial] = configuration
    }

    public mutating func trialEnded(_ trial: Int, state: TrialState) {
        // A finished trial's checkpoint stays a source; an errored one is no model.
        if state == .errored { latest[trial] = nil }
    }

    /// The bottom and top trials by latest value: ⌈n · fraction⌉ each, at most half of them.
    func quantiles() -> (bottom: [Int], top: [Int]) {
        let ranked = latest.keys.sorted { left, right in
            let (a, b) = (objective.reward(latest[left]!), objective.reward(latest[right]!))
            return a != b ? a < b : left < right
        }
        guard ranked.count >= 2 else { return ([], []) }
        var count = Int((Double(ranked.count) * quantileFraction).rounded(.up))
        if count > ranked.count / 2 { count = ranked.count / 2 }
        return (Array(ranked.prefix(count)), Array(ranked.suffix(count)))
    }

    public mutating func report(trial: Int, step: Int, value: Double) -> SchedulerDecision {
        guard value.isFinite else { return .continue }
        latest[trial] = value
        guard step - (lastPerturbation[trial] ?? 0) >= perturbationInterval else { return .continue }
        lastPerturbation[trial] = step
        let (bottom, top) = quantiles()
        guard bottom.contains(trial), !top.isEmpty else { return .continue }
        let source = top[Int.random(in: 0..<top.count, using: &random)]
        let configuration = explore(configurations[source] ?? Configuration())
        configurations[trial] = configuration
        return .exploit(from: source, configuration: configuration)
    }

    /// `configuration` with each mutable parameter resampled or perturbed.
    mutating func explore(_ configuration: Configuration) -> Configuration {
        var explored = configuration
        for (name, distribution) in mutations.parameters {
            let current = configuration.values[name]
            if random.unit() < resampleProbability || current == nil || !distribution.contains(current!) {
                explored.set(name, distribution.sample(using: &random))
                continue
            }
            let factor = random.unit() < 0.5 ? perturbationFactors.0 : perturbationFactors.1
            switch (distribution.kind, current!) {
            case (.uniform(let low, let high), .float(let x)), (.logUniform(let low, let high), .float(let x)):
                explored.set(name, .float(Swift.min(Swift.max(x * factor, low), high)))
            case (.normal, .float(let x)):
                explored.set(name, .float(x * factor))
            case (.integer(let low, let high, _, _), .int(let x)):
                explored.set(name, .int(Swift.min(Swift.max(Int((Double(x) * factor).rounded()), low), high)))
            case (.categorical(let values), let value):
                let index = values.firstIndex(of: value)!
                let shifted = Swift.min(Swift.max(index + (factor == perturbationFactors.0 ? 1 : -1), 0), values.count - 1)
                explored.set(name, values[shifted])
            default:
                explored.set(name, distribution.sample(using: &random))
            }
        }
        return explored
    }
}
