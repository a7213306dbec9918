/// Ends an episode after `maxSteps` steps by truncation, as Gymnasium's `TimeLimit` does (an
/// episode that terminates on its last allowed step is reported as terminated and truncated).
///
/// ```swift
/// var env = try TimeLimit(CartPole(), maxSteps: 500)
/// ```
public struct TimeLimit<Base: Environment>: Environment {
    /// The wrapped environment.
    public var base: Base
    /// The most steps an episode may take.
    public let maxSteps: Int
    /// Steps taken in the current episode; `nil` before the first reset and after it ended.
    public private(set) var elapsedSteps: Int?

    /// - Throws: ``EnvironmentError/invalidParameter(_:)`` when `maxSteps` is not positive.
    public init(_ base: Base, maxSteps: Int) throws(EnvironmentError) {
        guard maxSteps > 0 else { throw .invalidParameter("a time limit needs at least 1 step, not \(maxSteps)") }
        self.base = base
        self.maxSteps = maxSteps
    }

    public var observationSpace: Space { base.observationSpace }
    public var actionSpace: Space { base.actionSpace }

    public mutating func reset(seed: UInt64?) -> [Float] {
        elapsedSteps = 0
        return base.reset(seed: seed)
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        guard let elapsed = elapsedSteps else {
            guard actionSpace.contains(action) else { throw .invalidAction(action, space: actionSpace) }
            throw .needsReset
        }
        var step = try base.step(action)
        elapsedSteps = elapsed + 1
        if elapsed + 1 >= maxSteps { step.truncated = true }
        if step.isDone { elapsedSteps = nil }
        return step
    }
}
