/// An error from the cluster itself rather than from a task's code.
public enum ClusterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No function or actor type of this name is registered.
    case notRegistered(name: String)
    /// A function of this name is registered with another signature.
    case signatureMismatch(name: String, registered: String, requested: String)
    /// Two registrations share a name.
    case duplicateRegistration(name: String)
    /// No worker has, or could ever have, the resources a task asks for.
    case unschedulable(task: String, reason: String)
    /// The cluster has shut down.
    case shutDown
    /// A task ran past its timeout.
    case timedOut(task: String, seconds: Double)
    /// An object's value has another type than the ref's.
    case typeMismatch(object: ObjectID, expected: String, stored: String)
    /// The object no longer exists (every ref to it was dropped, or it was lost).
    case objectLost(ObjectID)
    /// The configuration is invalid.
    case invalidConfiguration(String)
    /// Spilling an object to disk or restoring it failed.
    case spillFailed(object: ObjectID, reason: String)
    /// The worker running the task was lost and the task had no retries left.
    case workerLost(worker: Int, task: String, reason: String)
    /// Moving an object between processes failed (a bad checksum, a lost holder).
    case transferFailed(object: ObjectID, reason: String)
    /// A multi-process cluster's workers could not be started or reached.
    case startFailed(String)
    /// The object is pinned to the worker that made it (``TaskOptions/pinsResult``) and what was
    /// asked would move it off that worker: reading it on the driver or in an actor call, sending
    /// it to another worker, or running a task that takes it elsewhere. `worker` is its holder
    /// (`nil` while the task that makes it has not finished).
    case pinned(object: ObjectID, worker: Int?, reason: String)

    public var description: String {
        switch self {
        case .notRegistered(let name): "\"\(name)\" is not registered; add it to the Registry given to Cluster.start"
        case .signatureMismatch(let name, let registered, let requested):
            "\"\(name)\" is registered as \(registered), not \(requested)"
        case .duplicateRegistration(let name): "\"\(name)\" is registered twice"
        case .unschedulable(let task, let reason): "task \"\(task)\" cannot be scheduled: \(reason)"
        case .shutDown: "the cluster has shut down"
        case .timedOut(let task, let seconds): "task \"\(task)\" timed out after \(seconds) s"
        case .typeMismatch(let object, let expected, let stored): "object \(object) holds \(stored), not \(expected)"
        case .objectLost(let object): "object \(object) no longer exists"
        case .invalidConfiguration(let reason): "invalid cluster configuration: \(reason)"
        case .spillFailed(let object, let reason): "object \(object) could not be spilled or restored: \(reason)"
        case .workerLost(let worker, let task, let reason):
            "task \"\(task)\" was running on worker-\(worker + 1), which was lost (\(reason)), and has no retries left"
        case .transferFailed(let object, let reason): "object \(object) could not be moved between processes: \(reason)"
        case .startFailed(let reason): "the cluster's workers could not be started: \(reason)"
        case .pinned(let object, let worker, let reason):
            "object \(object) is pinned to \(worker.map { "worker-\($0 + 1)" } ?? "the worker that makes it") and cannot leave it: \(reason)"
        }
    }
}
