/// The coordinate-wise median of the clients' parameters (Yin et al. 2018): each element is the
/// median of that element over the updates (the mean of the middle two for an even count), so a
/// minority of poisoned updates cannot move it far.
public struct CoordinateMedian: AggregationStrategy {
    public var name: String { "Median" }
    public var clientSettings: ClientSettings { ClientSettings() }

    public init() {}

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        guard !updates.isEmpty else { throw .notEnoughClients(needed: 1, available: 0) }
        let vectors = updates.map(\.parameters.values)
        var column = [Float](repeating: 0, count: vectors.count)
        let middle = vectors.count / 2
        let values = global.values.indices.map { index -> Float in
            for (row, vector) in vectors.enumerated() { column[row] = vector[index] }
            column.sort()
            return vectors.count % 2 == 1 ? column[middle] : Float((Double(column[middle - 1]) + Double(column[middle])) / 2)
        }
        return try global.replacingValues(values)
    }
}

/// The coordinate-wise trimmed mean (Yin et al. 2018): for each element, the largest and the
/// smallest `⌊β·n⌋` values are dropped and the rest averaged.
public struct TrimmedMean: AggregationStrategy {
    public var name: String { "TrimmedMean" }
    public var clientSettings: ClientSettings { ClientSettings() }
    /// β, the fraction cut from each end.
    public let trimFraction: Double

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` unless 0 ≤ β < 0.5.
    public init(trimFraction: Double) throws(FederatedError) {
        guard trimFraction >= 0, trimFraction < 0.5 else { throw .invalidConfiguration("a trimmed mean needs 0 ≤ β < 0.5") }
        self.trimFraction = trimFraction
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        guard !updates.isEmpty else { throw .notEnoughClients(needed: 1, available: 0) }
        let vectors = updates.map(\.parameters.values)
        let cut = Int(trimFraction * Double(vectors.count))
        var column = [Float](repeating: 0, count: vectors.count)
        let kept = vectors.count - 2 * cut
        let values = global.values.indices.map { index -> Float in
            for (row, vector) in vectors.enumerated() { column[row] = vector[index] }
            column.sort()
            return Float(column[cut..<(cut + kept)].reduce(0.0) { $0 + Double($1) } / Double(kept))
        }
        return try global.replacingValues(values)
    }
}

/// Krum and Multi-Krum (Blanchard et al. 2017): each update is scored by the sum of its squared
/// distances to its n − f − 2 nearest other updates, where f is how many may be Byzantine; Krum
/// keeps the best-scored update, Multi-Krum averages the best m.
public struct Krum: AggregationStrategy {
    public var name: String { keep == 1 ? "Krum" : "MultiKrum" }
    public var clientSettings: ClientSettings { ClientSettings() }
    /// f, the number of poisoned updates tolerated.
    public let byzantine: Int
    /// m, how many of the best-scored updates are averaged (1: Krum).
    public let keep: Int

    /// - Throws: ``FederatedError/invalidConfiguration(_:)`` for f < 0 or m < 1.
    public init(byzantine: Int, keep: Int = 1) throws(FederatedError) {
        guard byzantine >= 0, keep >= 1 else { throw .invalidConfiguration("Krum needs f ≥ 0 and m ≥ 1") }
        self.byzantine = byzantine
        self.keep = keep
    }

    /// Each update's score: the sum of squared distances to its n − f − 2 nearest neighbours.
    public func scores(_ updates: [ClientUpdate]) throws(FederatedError) -> [Double] {
        let count = updates.count
        guard count >= byzantine + 3 else { throw .notEnoughClients(needed: byzantine + 3, available: count) }
        let vectors = updates.map(\.parameters.values)
        var distances = [[Double]](repeating: [Double](repeating: 0, count: count), count: count)
        for i in 0..<count {
            for j in (i + 1)..<count {
                let distance = VectorMath.squaredDistance(vectors[i], vectors[j])
                (distances[i][j], distances[j][i]) = (distance, distance)
            }
        }
        let neighbours = count - byzantine - 2
        return (0..<count).map { i in
            (0..<count).filter { $0 != i }.map { distances[i][$0] }.sorted().prefix(neighbours).reduce(0, +)
        }
    }

    public mutating func aggregate(_ updates: [ClientUpdate], global: ModelParameters) throws(FederatedError) -> ModelParameters {
        let scores = try scores(updates)
        guard keep <= updates.count else { throw .notEnoughClients(needed: keep, available: updates.count) }
        let best = scores.indices.sorted { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(keep)
        return try global.replacingValues(
            VectorMath.weightedMean(best.map { updates[$0].parameters.values }, weights: Array(repeating: 1, count: best.count)))
    }
}
