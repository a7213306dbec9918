#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Tree-structured Parzen Estimator (Bergstra et al. 2011) with Optuna's defaults: after
/// `startupTrials` (10) random trials, each parameter's observations are split into the best
/// γ(n) = min(⌈n / 10⌉, 25) and the rest, a Parzen estimator l is fitted to the best and g to the
/// rest (a prior of weight 1 over the range in each), `candidates` (24) values are drawn from l,
/// and the one with the highest l / g is tried: the expected-improvement criterion of the paper.
///
/// Parameters are modelled independently (Optuna's univariate TPE): log scales in log space,
/// stepped ones in bins of one step, choices as category weights. Normal distributions are
/// drawn at random. Lower values are better; a search that maximizes gives negated values.
public struct TPESearcher: Searcher {
    public let seed: UInt64
    public let startupTrials: Int
    public let candidates: Int
    public let priorWeight: Double
    /// Finished trials with a finite value, in trial order.
    private var results: [TrialResult] = []

    public init(seed: UInt64 = 0, startupTrials: Int = 10, candidates: Int = 24, priorWeight: Double = 1) {
        self.seed = seed
        self.startupTrials = startupTrials
        self.candidates = Swift.max(1, candidates)
        self.priorWeight = priorWeight
    }

    /// How many of `count` observations form the good group.
    static func goodCount(_ count: Int) -> Int { Swift.min(Int((Double(count) / 10).rounded(.up)), 25) }

    public mutating func observe(_ result: TrialResult) {
        guard result.state != .errored, let value = result.value, value.isFinite else { return }
        let index = results.firstIndex { $0.trial > result.trial } ?? results.count
        results.insert(result, at: index)
    }

    public func suggest(_ name: String, _ distribution: Distribution, trial: Int) -> ParameterValue {
        let observed = results.compactMap { result -> (value: Double, parameter: ParameterValue)? in
            guard let parameter = result.configuration.values[name], distribution.contains(parameter) else { return nil }
            return (result.value!, parameter)
        }
        if case .normal = distribution.kind { return RandomSearcher(seed: seed).suggest(name, distribution, trial: trial) }
        guard results.count >= startupTrials, !observed.isEmpty else {
            return RandomSearcher(seed: seed).suggest(name, distribution, trial: trial)
        }
        // The best γ(n) observations (ties to the earlier trial) and the rest, each in trial order.
        let ranked = observed.indices.sorted {
            observed[$0].value < observed[$1].value || (observed[$0].value == observed[$1].value && $0 < $1)
        }
        let good = Set(ranked.prefix(Self.goodCount(observed.count)))
        let goodValues = observed.indices.filter { good.contains($0) }.map { observed[$0].parameter }
        let badValues = observed.indices.filter { !good.contains($0) }.map { observed[$0].parameter }
        var random = TuneRandom(seed: seed ^ 0x7470_6573_6561_7263, trial: trial, parameter: name)

        if case .categorical(let values) = distribution.kind {
            let index = { (value: ParameterValue) in values.firstIndex(of: value)! }
            let l = ParzenEstimator(categories: values.count, observations: goodValues.map(index), priorWeight: priorWeight)
            let g = ParzenEstimator(categories: values.count, observations: badValues.map(index), priorWeight: priorWeight)
            return values[Int(Self.best(l, g, candidates: candidates, random: &random))]
        }
        guard let model = NumericModel(distribution) else { return RandomSearcher(seed: seed).suggest(name, distribution, trial: trial) }
        let l = ParzenEstimator(numeric: model.space, observations: goodValues.compactMap(model.forward), priorWeight: priorWeight)
        let g = ParzenEstimator(numeric: model.space, observations: badValues.compactMap(model.forward), priorWeight: priorWeight)
        return model.backward(Self.best(l, g, candidates: candidates, random: &random))
    }

    /// The candidate drawn from `l` with the highest log l − log g.
    private static func best(_ l: ParzenEstimator, _ g: ParzenEstimator, candidates: Int, random: inout TuneRandom) -> Double {
        var best = l.sample(using: &random)
        var bestScore = l.logDensity(best) - g.logDensity(best)
        for _ in 1..<candidates {
            let candidate = l.sample(using: &random)
            let score = l.logDensity(candidate) - g.logDensity(candidate)
            if score > bestScore {
                best = candidate
                bestScore = score
            }
        }
        return best
    }
}

/// How TPE models a numeric distribution: the space it fits densities in, and the maps from a
/// parameter value into it and back.
private struct NumericModel {
    let space: ParzenEstimator.Numeric
    let forward: (ParameterValue) -> Double?
    let backward: (Double) -> ParameterValue

    init?(_ distribution: Distribution) {
        switch distribution.kind {
        case .uniform(let low, let high):
            space = ParzenEstimator.Numeric(low: low, high: high, step: distribution.step)
            forward = { $0.number }
            backward = { .float($0) }
        case .logUniform(let low, let high):
            // Modelled continuously in log space; a step applies to the value drawn.
            space = ParzenEstimator.Numeric(low: log(low), high: log(high))
            forward = { $0.number.map { log($0) } }
            let step = distribution.step
            backward = { y in
                let x = Swift.min(Swift.max(exp(y), low), high)
                return .float(step.map { Swift.min(Swift.max(low + ((x - low) / $0).rounded() * $0, low), high) } ?? x)
            }
        case .integer(let low, let high, let step, let isLog):
            if isLog {
                space = ParzenEstimator.Numeric(low: log(Double(low) - 0.5), high: log(Double(high) + 0.5))
                forward = { $0.number.map { log($0) } }
                backward = { y in .int(Swift.min(Swift.max(Int(exp(y).rounded()), low), high)) }
            } else {
                space = ParzenEstimator.Numeric(low: Double(low), high: Double(high), step: Double(step))
                forward = { $0.number }
                backward = { y in .int(Swift.min(Swift.max(Int(y.rounded()), low), high)) }
            }
        case .normal, .categorical:
            return nil
        }
    }
}
