#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The density TPE fits to one group of observations of one parameter (Bergstra et al. 2011,
/// as Optuna's univariate `_ParzenEstimator` builds it): for a number, a mixture of normals
/// truncated to the range, one at each observation plus a prior spanning the range; for a
/// choice, category weights over a uniform prior.
struct ParzenEstimator {
    /// A numeric parameter in the space TPE models it in (log for log scales).
    struct Numeric {
        /// The modelled range: for a stepped parameter, half a step wider on each side, so
        /// that every value owns a bin of one step.
        let low: Double
        let high: Double
        /// The width of one value's bin for a stepped parameter (`nil` for a continuous one),
        /// its first value and its last.
        let step: Double?
        let first: Double
        let last: Double

        init(low: Double, high: Double, step: Double? = nil) {
            self.low = low - (step ?? 0) / 2
            self.high = high + (step ?? 0) / 2
            self.step = step
            first = low
            last = high
        }
    }

    enum Model {
        case numeric(Numeric, mus: [Double], sigmas: [Double], weights: [Double])
        case categorical(weights: [Double])
    }

    let model: Model

    /// Optuna's observation weights: equal for the last 25 observations, ramping up from 1/n
    /// for older ones (`default_weights`).
    static func observationWeights(_ count: Int) -> [Double] {
        guard count >= 25 else { return Array(repeating: 1, count: count) }
        let ramp = count - 25
        let rising = (0..<ramp).map { index in
            ramp == 1 ? 1.0 / Double(count) : 1.0 / Double(count) + (1 - 1.0 / Double(count)) * Double(index) / Double(ramp - 1)
        }
        return rising + Array(repeating: 1, count: 25)
    }

    /// The estimator of a numeric parameter from `observations` (in trial order), with Optuna's
    /// defaults: prior weight 1, magic clip on, endpoints not considered.
    init(numeric space: Numeric, observations: [Double], priorWeight: Double = 1) {
        // The prior sits in the middle of the range with the range as its width.
        let mus = observations + [(space.low + space.high) / 2]
        var weights = Self.observationWeights(observations.count) + [priorWeight]
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }

        // Each kernel as wide as the larger gap to its sorted neighbours (the ends using the
        // range's bounds, except that the outermost kernels look inward only).
        let order = mus.indices.sorted { mus[$0] < mus[$1] }
        let sorted = order.map { mus[$0] }
        let bounded = [space.low] + sorted + [space.high]
        var sortedSigmas: [Double] = []
        for index in 1..<(bounded.count - 1) {
            let before: Double = bounded[index] - bounded[index - 1]
            let after: Double = bounded[index + 1] - bounded[index]
            sortedSigmas.append(Swift.max(before, after))
        }
        if bounded.count >= 4 {
            sortedSigmas[0] = bounded[2] - bounded[1]
            sortedSigmas[sortedSigmas.count - 1] = bounded[bounded.count - 2] - bounded[bounded.count - 3]
        }
        var sigmas = Array(repeating: 0.0, count: mus.count)
        for (rank, index) in order.enumerated() { sigmas[index] = sortedSigmas[rank] }
        // The magic clip: no kernel narrower than range / min(100, 1 + kernels), none wider than the range.
        let range = space.high - space.low
        let minimum = range / Swift.min(100, 1 + Double(mus.count))
        sigmas = sigmas.map { Swift.min(Swift.max($0, minimum), range) }
        sigmas[sigmas.count - 1] = range
        model = .numeric(space, mus: mus, sigmas: sigmas, weights: weights)
    }

    /// The estimator of a choice among `count` categories from observed category indices.
    init(categories count: Int, observations: [Int], priorWeight: Double = 1) {
        var weights = Array(repeating: priorWeight / Double(count), count: count)
        for (index, weight) in zip(observations, Self.observationWeights(observations.count)) { weights[index] += weight }
        let total = weights.reduce(0, +)
        model = .categorical(weights: weights.map { $0 / total })
    }

    /// A draw: a value in the modelled space, or a category index (as a Double).
    func sample(using random: inout TuneRandom) -> Double {
        switch model {
        case .categorical(let weights):
            return Double(Self.pick(weights, random.unit()))
        case .numeric(let space, let mus, let sigmas, let weights):
            let kernel = Self.pick(weights, random.unit())
            let (low, high) = (space.low, space.high)
            var value = mus[kernel]
            // Truncated normal by rejection: every kernel's centre lies in the range and its width
            // is at most the range, so at least a third of draws land.
            for _ in 0..<1000 {
                let draw = mus[kernel] + sigmas[kernel] * random.standardNormal()
                if low <= draw && draw <= high {
                    value = draw
                    break
                }
            }
            if let step = space.step {
                value = Swift.min(Swift.max(space.first + ((value - space.first) / step).rounded() * step, space.first), space.last)
            }
            return value
        }
    }

    /// The log density (continuous) or log probability (stepped, categorical) of `x`.
    func logDensity(_ x: Double) -> Double {
        switch model {
        case .categorical(let weights):
            return log(weights[Int(x)])
        case .numeric(let space, let mus, let sigmas, let weights):
            let step = space.step
            let (low, high) = (space.low, space.high)
            var total = 0.0
            for ((mu, sigma), weight) in zip(zip(mus, sigmas), weights) {
                let mass = Self.cdf((high - mu) / sigma) - Self.cdf((low - mu) / sigma)
                guard mass > 0 else { continue }
                let part: Double
                if let step {
                    part = Self.cdf((x + step / 2 - mu) / sigma) - Self.cdf((x - step / 2 - mu) / sigma)
                } else {
                    let z = (x - mu) / sigma
                    part = exp(-z * z / 2) / (sigma * (2 * Double.pi).squareRoot())
                }
                total += weight * part / mass
            }
            return log(Swift.max(total, Double.leastNormalMagnitude))
        }
    }

    /// The standard normal CDF.
    static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// The index `u` (uniform in [0, 1)) falls on among `weights` (summing to 1).
    static func pick(_ weights: [Double], _ u: Double) -> Int {
        var sum = 0.0
        for (index, weight) in weights.enumerated() {
            sum += weight
            if u < sum { return index }
        }
        return weights.count - 1
    }
}
