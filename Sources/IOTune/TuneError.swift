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
    /// A runner was asked for a trainable it was not registered with (the processes of the
    /// cluster registered different trainables under one name).
    case unknownTrainable(String, registered: String)
    /// A runner was answered while it ran no trial.
    case noTrialRunning
    /// The experiment's options cannot work: no trials, no metric, a concurrency below 1, …
    case invalidOptions(String)
    /// A fresh experiment was started in a directory that holds one; resume it instead.
    case experimentExists(directory: String)
    /// The directory holds no experiment to resume, or one that cannot be read.
    case unreadableExperiment(directory: String, reason: String)
    /// The experiment in the directory was started with other settings than the resuming one.
    case experimentMismatch(directory: String, reason: String)
    /// No trial fits the cluster: no worker has the resources one trial asks for.
    case trialsDoNotFit(resources: String)

    public var description: String {
        switch self {
        case .invalidDistribution(let parameter, let reason): "parameter \"\(parameter)\": \(reason)"
        case .unknownParameter(let name, let known):
            "no parameter \"\(name)\" in the search space (it has \(known.isEmpty ? "none" : known.map { "\"\($0)\"" }.joined(separator: ", ")))"
        case .wrongType(let parameter, let expected, let actual): "parameter \"\(parameter)\" is \(actual), not \(expected)"
        case .conflictingParameter(let name, let reason): "parameter \"\(name)\": \(reason)"
        case .unknownTrainable(let name, let registered): "no trainable \"\(name)\" in this runner (it runs \"\(registered)\")"
        case .noTrialRunning: "the runner runs no trial"
        case .invalidOptions(let reason): "invalid experiment options: \(reason)"
        case .experimentExists(let directory): "\(directory) holds an experiment already: resume it, or choose another directory"
        case .unreadableExperiment(let directory, let reason): "no experiment to resume in \(directory): \(reason)"
        case .experimentMismatch(let directory, let reason): "the experiment in \(directory) differs: \(reason)"
        case .trialsDoNotFit(let resources): "no worker of the cluster has room for a trial's resources (\(resources))"
        }
    }
}
