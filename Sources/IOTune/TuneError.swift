/// What goes wrong in a hyperparameter search, with the name of what caused it.
public enum TuneError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A distribution that cannot be sampled: an empty or reversed range, a non-positive bound of
    /// a log scale, a step that does not fit, no choices.
    case invalidDistribution(parameter: String, reason: String)
    /// A parameter read by a name the space does not have.
    case unknownParameter(String, known: [String])
    /// A parameter read as another type than its distribution gives.
    case wrongType(parameter: String, expected: String, actual: String)
    /// A parameter named twice in one space, or asked for again with another distribution.
    case conflictingParameter(String, reason: String)

    public var description: String {
        switch self {
        case .invalidDistribution(let parameter, let reason): "parameter \"\(parameter)\": \(reason)"
        case .unknownParameter(let name, let known):
            "no parameter \"\(name)\" in the search space (it has \(known.isEmpty ? "none" : known.map { "\"\($0)\"" }.joined(separator: ", ")))"
        case .wrongType(let parameter, let expected, let actual): "parameter \"\(parameter)\" is \(actual), not \(expected)"
        case .conflictingParameter(let name, let reason): "parameter \"\(name)\": \(reason)"
        }
    }
}
