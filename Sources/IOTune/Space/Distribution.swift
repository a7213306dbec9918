/// Where a hyperparameter's values come from: a range of floats (uniform, log-uniform or normal,
/// each optionally quantized to a step), a range of integers (linear or log), or a list of
/// values (a random choice, or a grid axis that a grid searcher enumerates).
///
/// ```swift
/// let space: SearchSpace = [
///     "lr": .logUniform(1e-4, 1e-1),
///     "width": .integer(16...256, log: true),
///     "dropout": .uniform(0, 0.5, step: 0.05),
///     "optimizer": .choice(["adam", "sgd"]),
/// ]
/// ```
public struct Distribution: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        case uniform(low: Double, high: Double)
        case logUniform(low: Double, high: Double)
        case normal(mean: Double, standardDeviation: Double)
        case integer(low: Int, high: Int, step: Int, log: Bool)
        case categorical([ParameterValue])
    }

    public let kind: Kind
    /// For float kinds: values are rounded to a multiple of `step` (from the low bound for
    /// ranges, from zero for normals).
    public let step: Double?
    /// Whether a grid searcher enumerates every value rather than sampling one.
    public let isGridAxis: Bool

    private init(_ kind: Kind, step: Double? = nil, grid: Bool = false) {
        self.kind = kind
        self.step = step
        isGridAxis = grid
    }

    /// Floats spread evenly over `low...high`.
    public static func uniform(_ low: Double, _ high: Double, step: Double? = nil) -> Distribution {
        Distribution(.uniform(low: low, high: high), step: step)
    }

    /// Floats whose logarithm is spread evenly over `log(low)...log(high)` (learning rates).
    public static func logUniform(_ low: Double, _ high: Double, step: Double? = nil) -> Distribution {
        Distribution(.logUniform(low: low, high: high), step: step)
    }

    /// Floats from a normal distribution.
    public static func normal(mean: Double, standardDeviation: Double, step: Double? = nil) -> Distribution {
        Distribution(.normal(mean: mean, standardDeviation: standardDeviation), step: step)
    }

    /// Integers in `range`, every `step`th from its lower bound; with `log`, spread evenly in
    /// log scale (then `step` must be 1).
    public static func integer(_ range: ClosedRange<Int>, step: Int = 1, log: Bool = false) -> Distribution {
        Distribution(.integer(low: range.lowerBound, high: range.upperBound, step: step, log: log))
    }

    /// One of `values`, each as likely.
    public static func choice(_ values: [ParameterValue]) -> Distribution { Distribution(.categorical(values)) }

    /// Every one of `values` in turn under a grid searcher (a random one under others).
    public static func grid(_ values: [ParameterValue]) -> Distribution { Distribution(.categorical(values), grid: true) }

    /// The distribution, checked for parameter `name`.
    ///
    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` for bounds that are not
    ///   finite or reversed, a log scale that reaches zero, a step that is not positive or does
    ///   not divide the range, or no values to choose from.
    public func validated(_ name: String) throws(TuneError) -> Distribution {
        func fail(_ reason: String) -> TuneError { .invalidDistribution(parameter: name, reason: reason) }
        if let step, !(step.isFinite && step > 0) { throw fail("a step of \(step) is not a positive number") }
        switch kind {
        case .uniform(let low, let high), .logUniform(let low, let high):
            guard low.isFinite, high.isFinite, low <= high else { throw fail("the range \(low)...\(high) is empty or not finite") }
            if case .logUniform = kind, low <= 0 { throw fail("a log scale needs a positive lower bound, not \(low)") }
            if let step {
                let steps = (high - low) / step
                guard abs(steps - steps.rounded()) <= 1e-9 * Swift.max(1, steps) else {
                    throw fail("a step of \(step) does not divide \(low)...\(high)")
                }
            }
        case .normal(let mean, let deviation):
            guard mean.isFinite, deviation.isFinite, deviation > 0 else {
                throw fail("a normal needs a finite mean and a positive standard deviation, not \(mean) and \(deviation)")
            }
        case .integer(let low, let high, let step, let log):
            guard low <= high else { throw fail("the range \(low)...\(high) is empty") }
            guard step > 0 else { throw fail("a step of \(step) is not positive") }
            if log && low < 1 { throw fail("a log scale needs a lower bound of at least 1, not \(low)") }
            if log && step != 1 { throw fail("a log scale takes no step (here \(step))") }
        case .categorical(let values):
            guard !values.isEmpty else { throw fail("no values to choose from") }
            guard Set(values).count == values.count else { throw fail("a value is listed twice in \(values)") }
        }
        return self
    }

    /// A value drawn with `random`.
    public func sample(using random: inout TuneRandom) -> ParameterValue {
        switch kind {
        case .uniform(let low, let high):
            return .float(quantized(low + (high - low) * random.unit(), low: low, high: high))
        case .logUniform(let low, let high):
            let logLow = _log(low)
            let value = _exp(logLow + (_log(high) - logLow) * random.unit())
            return .float(quantized(Swift.min(Swift.max(value, low), high), low: low, high: high))
        case .normal(let mean, let deviation):
            let value = mean + deviation * random.standardNormal()
            return .float(step.map { (value / $0).rounded() * $0 } ?? value)
        case .integer(let low, let high, let step, let log):
            if log {
                // Evenly in log scale over [low - ½, high + ½], then to the nearest integer.
                let logLow = _log(Double(low) - 0.5)
                let value = _exp(logLow + (_log(Double(high) + 0.5) - logLow) * random.unit()).rounded()
                return .int(Swift.min(Swift.max(Int(value), low), high))
            }
            let count = (high - low) / step + 1
            return .int(low + step * Int.random(in: 0..<count, using: &random))
        case .categorical(let values):
            return values[Int.random(in: 0..<values.count, using: &random)]
        }
    }

    /// Whether `value` is one this distribution can give.
    public func contains(_ value: ParameterValue) -> Bool {
        switch (kind, value) {
        case (.uniform(let low, let high), .float(let x)), (.logUniform(let low, let high), .float(let x)): low <= x && x <= high
        case (.normal, .float(let x)): x.isFinite
        case (.integer(let low, let high, let step, _), .int(let x)): low <= x && x <= high && (x - low) % step == 0
        case (.categorical(let values), _): values.contains(value)
        default: false
        }
    }

    /// `value` on the step grid from `low`, kept inside `low...high`.
    private func quantized(_ value: Double, low: Double, high: Double) -> Double {
        guard let step else { return value }
        return Swift.min(Swift.max(low + ((value - low) / step).rounded() * step, low), high)
    }
}
