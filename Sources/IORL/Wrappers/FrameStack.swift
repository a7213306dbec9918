/// Observations made of the last `frames` observations, oldest first, flattened into one vector
/// (Gymnasium's `FrameStackObservation`, padded at a reset with copies of the first
/// observation), so that a memoryless policy can see velocities.
public struct FrameStack<Base: Environment>: Environment {
    public var base: Base
    /// How many observations each stacked one holds.
    public let frames: Int
    private var stack: [Float] = []

    /// - Throws: ``EnvironmentError/invalidParameter(_:)`` when `frames` is not positive.
    public init(_ base: Base, frames: Int) throws(EnvironmentError) {
        guard frames > 0 else { throw .invalidParameter("a frame stack needs at least 1 frame, not \(frames)") }
        self.base = base
        self.frames = frames
    }

    public var observationSpace: Space {
        guard case .box(let low, let high) = base.observationSpace else { return base.observationSpace }
        return .box(
            low: Array([[Float]](repeating: low, count: frames).joined()), high: Array([[Float]](repeating: high, count: frames).joined()))
    }
    public var actionSpace: Space { base.actionSpace }

    public mutating func reset(seed: UInt64?) -> [Float] {
        let first = base.reset(seed: seed)
        stack = Array([[Float]](repeating: first, count: frames).joined())
        return stack
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        var step = try base.step(action)
        stack.removeFirst(step.observation.count)
        stack.append(contentsOf: step.observation)
        step.observation = stack
        return step
    }
}
