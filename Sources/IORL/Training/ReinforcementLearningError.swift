/// Why a learner, a trainer or an env runner refused or stopped.
public enum ReinforcementLearningError: Error, Equatable, CustomStringConvertible {
    /// A setting out of its range (a clip of 0, more minibatches than samples, no runners).
    case invalidConfiguration(String)
    /// Data of the wrong shape or kind reached a learner (a rollout from another environment,
    /// continuous actions for a discrete policy).
    case shapeMismatch(String)
    /// An update produced a non-finite loss; the weights were left as they were.
    case nonFiniteLoss(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid configuration: \(reason)"
        case .shapeMismatch(let reason): "shape mismatch: \(reason)"
        case .nonFiniteLoss(let reason): "non-finite loss: \(reason)"
        }
    }
}
