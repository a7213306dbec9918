/// What goes wrong in federated learning, typed.
public enum FederatedError: Error, Equatable, CustomStringConvertible {
    /// Settings out of range: a negative learning rate, a trim fraction of one half or more.
    case invalidConfiguration(String)
    /// Parameters whose layout or count does not match what was expected.
    case shapeMismatch(String)
    /// Fewer usable answers than the round or the strategy needs.
    case notEnoughClients(needed: Int, available: Int)
    /// A secure-aggregation step that cannot go on: too few shares, a message that fails
    /// authentication, a client that lies about who it is.
    case secureAggregation(String)
    /// An object pinned to its node was asked to leave it.
    case pinnedObject(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid federated configuration: \(reason)"
        case .shapeMismatch(let reason): "parameters of the wrong shape: \(reason)"
        case .notEnoughClients(let needed, let available): "not enough clients: \(available) of the \(needed) needed"
        case .secureAggregation(let reason): "secure aggregation failed: \(reason)"
        case .pinnedObject(let reason): "pinned data cannot leave its node: \(reason)"
        }
    }
}
