import IORuntime

/// Running means and variances of a vector, merged batch by batch with Chan et al.'s parallel
/// algorithm, as Gymnasium's `RunningMeanStd` (the count starts at 1e-4, the mean at 0 and the
/// variance at 1, so the first normalisations are gentle).
///
/// Two runners' statistics merge with ``merge(_:)``, so a learner can combine what its env
/// runners saw and send the result back to all of them.
public struct RunningStatistics: Sendable, Equatable, WireCodable {
    public private(set) var mean: [Double]
    public private(set) var variance: [Double]
    public private(set) var count: Double

    /// Statistics of vectors with `dimension` elements, seen nothing yet.
    public init(dimension: Int) {
        mean = Array(repeating: 0, count: dimension)
        variance = Array(repeating: 1, count: dimension)
        count = 1e-4
    }

    /// Statistics of nothing at all (count 0), to collect a batch that is merged elsewhere.
    public static func empty(dimension: Int) -> RunningStatistics {
        RunningStatistics(mean: Array(repeating: 0, count: dimension), variance: Array(repeating: 0, count: dimension), count: 0)
    }

    /// Statistics with the given moments (a checkpoint's).
    public init(mean: [Double], variance: [Double], count: Double) {
        self.mean = mean
        self.variance = variance
        self.count = count
    }

    /// Adds one vector.
    public mutating func update(_ values: [Double]) {
        merge(RunningStatistics(mean: values, variance: Array(repeating: 0, count: values.count), count: 1))
    }

    /// Adds a batch summarised by its own statistics.
    public mutating func merge(_ other: RunningStatistics) {
        guard other.mean.count == mean.count, other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        let total = count + other.count
        for index in mean.indices {
            let delta = other.mean[index] - mean[index]
            let m2 = variance[index] * count + other.variance[index] * other.count + delta * delta * count * other.count / total
            mean[index] += delta * other.count / total
            variance[index] = m2 / total
        }
        count = total
    }

    /// `values` standardised: (x − mean) / √(variance + ε).
    public func normalize(_ values: [Float], epsilon: Double = 1e-8) -> [Float] {
        values.indices.map { Float((Double(values[$0]) - mean[$0]) / (variance[$0] + epsilon).squareRoot()) }
    }
}
