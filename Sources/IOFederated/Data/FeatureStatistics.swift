import IORuntime

/// Per-feature counts, sums and sums of squares: what clients share so that the federation can
/// standardize features the same way everywhere without any row leaving its client.
public struct FeatureStatistics: Sendable, Equatable, WireCodable {
    public var count: Int
    public var sums: [Double]
    public var squares: [Double]

    public init(count: Int, sums: [Double], squares: [Double]) {
        self.count = count
        self.sums = sums
        self.squares = squares
    }

    /// The statistics of `rows` rows of `width` features, flat.
    public init(rows: Int, width: Int, values: [Float]) {
        count = rows
        sums = [Double](repeating: 0, count: width)
        squares = [Double](repeating: 0, count: width)
        for row in 0..<rows {
            for column in 0..<width {
                let value = Double(values[row * width + column])
                sums[column] += value
                squares[column] += value * value
            }
        }
    }

    /// Both clients' rows together.
    ///
    /// - Throws: ``FederatedError/shapeMismatch(_:)`` for statistics of different widths.
    public func merged(with other: FeatureStatistics) throws(FederatedError) -> FeatureStatistics {
        guard sums.count == other.sums.count, squares.count == other.squares.count else {
            throw .shapeMismatch("feature statistics of \(sums.count) and \(other.sums.count) features")
        }
        return FeatureStatistics(
            count: count + other.count, sums: zip(sums, other.sums).map(+), squares: zip(squares, other.squares).map(+))
    }

    public var means: [Double] { sums.map { $0 / Double(Swift.max(count, 1)) } }

    /// Population standard deviations (1 where a feature is constant).
    public var standardDeviations: [Double] {
        zip(sums, squares).map { sum, square in
            let mean = sum / Double(Swift.max(count, 1))
            let variance = Swift.max(square / Double(Swift.max(count, 1)) - mean * mean, 0)
            return variance > 1e-12 ? variance.squareRoot() : 1
        }
    }
}
