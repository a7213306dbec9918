/// Named distributions in the order they were given: what a declared search asks of each trial.
///
/// A trial can also ask for parameters as it runs (define-by-run, as Optuna's trials do); the
/// searcher then learns the space from what trials asked for.
public struct SearchSpace: Sendable, Hashable, Codable, ExpressibleByDictionaryLiteral {
    /// The parameters in order.
    public var parameters: [(name: String, distribution: Distribution)] { zip(names, distributions).map { ($0, $1) } }
    private var names: [String] = []
    private var distributions: [Distribution] = []

    public init() {}

    /// A space of `parameters` in their literal order (a dictionary literal keeps it).
    ///
    /// A name given twice is a programming error caught here; use ``adding(_:_:)`` for checked
    /// construction.
    public init(dictionaryLiteral elements: (String, Distribution)...) {
        for (name, distribution) in elements {
            precondition(!names.contains(name), "parameter \"\(name)\" is in the search space twice")
            names.append(name)
            distributions.append(distribution)
        }
    }

    /// This space with `name` drawn from `distribution` after the others.
    ///
    /// - Throws: ``TuneError/conflictingParameter(_:reason:)`` for a name already in the space,
    ///   ``TuneError/invalidDistribution(parameter:reason:)`` for a distribution that cannot be
    ///   sampled.
    public func adding(_ name: String, _ distribution: Distribution) throws(TuneError) -> SearchSpace {
        guard !names.contains(name) else { throw .conflictingParameter(name, reason: "it is in the search space already") }
        var space = self
        space.names.append(name)
        space.distributions.append(try distribution.validated(name))
        return space
    }

    /// The distribution of `name`, if the space has it.
    public func distribution(of name: String) -> Distribution? {
        names.firstIndex(of: name).map { distributions[$0] }
    }

    /// The parameter names in order.
    public var parameterNames: [String] { names }

    /// The values of trial `trial` under `searcher`, asked for in the space's order.
    public func configuration(trial: Int, from searcher: inout some Searcher) -> Configuration {
        var configuration = Configuration()
        for (name, distribution) in zip(names, distributions) {
            configuration.set(name, searcher.suggest(name, distribution, trial: trial))
        }
        return configuration
    }

    /// Checks every distribution.
    ///
    /// - Throws: the first ``TuneError/invalidDistribution(parameter:reason:)``.
    public func validate() throws(TuneError) {
        for (name, distribution) in zip(names, distributions) { _ = try distribution.validated(name) }
    }

    public static func == (left: SearchSpace, right: SearchSpace) -> Bool {
        left.names == right.names && left.distributions == right.distributions
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(names)
        hasher.combine(distributions)
    }
}
