/// What a hyperparameter search trains: a named function that reads its parameters from the
/// ``TrialSession`` it is given, trains, and reports metrics as it goes.
///
/// Register it in every process of the cluster with `Registry.trainable(_:)`; the
/// name ties the registrations together.
///
/// ```swift
/// let quadratic = Trainable("quadratic") { trial in
///     let x = try await trial.float("x", .uniform(-5, 5))
///     for step in 1...10 {
///         try await trial.report(["loss": (x - 2) * (x - 2) + 1 / Double(step)])
///     }
/// }
/// ```
public struct Trainable: Sendable {
    /// The name every process registers it under.
    public let name: String
    let body: @Sendable (TrialSession) async throws -> Void

    public init(_ name: String, _ body: @escaping @Sendable (TrialSession) async throws -> Void) {
        self.name = name
        self.body = body
    }
}

/// Thrown by ``TrialSession/report(_:checkpoint:)`` when the trial is not to go on: a scheduler
/// stopped or paused it, or it continues elsewhere from another trial's checkpoint. A trainable
/// need not catch it; one that holds resources can, to release them, and then returns.
public struct TrialStopped: Error, Sendable, CustomStringConvertible {
    public var description: String { "the trial was stopped by its scheduler" }
}
