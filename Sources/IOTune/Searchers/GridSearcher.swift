/// Every combination of a space's grid axes (``Distribution/grid(_:)``) in order, the last axis
/// changing fastest; parameters that are not grid axes are drawn as ``RandomSearcher`` draws
/// them. Trial `t` takes combination `t % combinations`, so `n × combinations` trials cover the
/// grid `n` times (Ray Tune's `num_samples` over a `grid_search`).
public struct GridSearcher: Searcher {
    public let space: SearchSpace
    public let seed: UInt64
    /// The grid axes, in the space's order.
    private let axes: [(name: String, values: [ParameterValue])]

    /// - Throws: ``TuneError/invalidDistribution(parameter:reason:)`` for a distribution of the
    ///   space that cannot be sampled.
    public init(space: SearchSpace, seed: UInt64 = 0) throws(TuneError) {
        try space.validate()
        self.space = space
        self.seed = seed
        axes = space.parameters.compactMap { parameter in
            guard parameter.distribution.isGridAxis, case .categorical(let values) = parameter.distribution.kind else { return nil }
            return (parameter.name, values)
        }
    }

    /// How many distinct combinations the grid has (1 without grid axes).
    public var combinations: Int { axes.reduce(1) { $0 * $1.values.count } }

    public func suggest(_ name: String, _ distribution: Distribution, trial: Int) -> ParameterValue {
        guard let axis = axes.firstIndex(where: { $0.name == name }) else {
            return RandomSearcher(seed: seed).suggest(name, distribution, trial: trial)
        }
        // Trial t's combination in mixed radix, the last axis the least significant digit.
        let after = axes[(axis + 1)...].reduce(1) { $0 * $1.values.count }
        let index = (trial % combinations) / after % axes[axis].values.count
        return axes[axis].values[index]
    }
}
