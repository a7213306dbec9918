/// A task failed: it threw, or an object it depended on could not be made.
///
/// The error that the task's function threw reaches every `get()` of its result, and of the
/// results of tasks that depended on it, as this value: the task's name, the thrown error's type
/// and its message. In process the original error is kept as ``underlying`` too.
public struct TaskError: Error, Sendable, CustomStringConvertible {
    /// The registered name of the task that failed first.
    public let taskName: String
    /// The type of the error the task threw (`String(reflecting:)` of it).
    public let errorType: String
    /// The error's description.
    public let message: String
    /// The error itself, when the task ran in this process.
    public let underlying: (any Error)?

    public init(taskName: String, errorType: String, message: String, underlying: (any Error)? = nil) {
        self.taskName = taskName
        self.errorType = errorType
        self.message = message
        self.underlying = underlying
    }

    init(taskName: String, thrown error: any Error) {
        self.init(
            taskName: taskName, errorType: String(reflecting: type(of: error)), message: String(describing: error),
            underlying: error)
    }

    public var description: String { "task \"\(taskName)\" failed with \(errorType): \(message)" }
}
