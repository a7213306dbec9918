import Foundation
import IOTensor

/// A car in a valley with Gymnasium's exact dynamics (`MountainCar-v0`, after Moore 1990):
/// accelerate left (0), not at all (1) or right (2) to rock up to the flag at position 0.5.
///
/// Force 0.001, gravity 0.0025, velocity clipped to ±0.07, position to [−1.2, 0.6] (hitting the
/// left wall stops the car). Every step costs 1; the episode terminates at the flag
/// (``EnvironmentCatalog`` builds `MountainCar-v0` with a 200-step time limit). Resets place the
/// car at rest, uniformly in [−0.6, −0.4], drawn with `SplitMix64`.
public struct MountainCar: Environment {
    public static let minPosition = -1.2
    public static let maxPosition = 0.6
    public static let maxSpeed = 0.07
    public static let goalPosition = 0.5
    public static let force = 0.001
    public static let gravity = 0.0025

    /// Position and velocity in double precision (Gymnasium's `state`); set it to start from a
    /// chosen state.
    public var state: [Double] = [-0.5, 0]
    private var random = SplitMix64(seed: 0)
    private var running = false

    public init() {}

    public var observationSpace: Space {
        .box(low: [Float(Self.minPosition), Float(-Self.maxSpeed)], high: [Float(Self.maxPosition), Float(Self.maxSpeed)])
    }
    public var actionSpace: Space { .discrete(3) }

    public mutating func reset(seed: UInt64?) -> [Float] {
        if let seed { random = SplitMix64(seed: seed) }
        state = [random.uniform(-0.6, -0.4), 0]
        running = true
        return state.map { Float($0) }
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        guard case .discrete(let push) = action, (0..<3).contains(push) else { throw .invalidAction(action, space: actionSpace) }
        guard running, state.count == 2 else { throw .needsReset }
        var (position, velocity) = (state[0], state[1])
        velocity += Double(push - 1) * Self.force + cos(3 * position) * (-Self.gravity)
        velocity = Swift.min(Swift.max(velocity, -Self.maxSpeed), Self.maxSpeed)
        position += velocity
        position = Swift.min(Swift.max(position, Self.minPosition), Self.maxPosition)
        if position == Self.minPosition && velocity < 0 { velocity = 0 }
        let terminated = position >= Self.goalPosition && velocity >= 0
        state = [position, velocity]
        running = !terminated
        return Step(observation: state.map { Float($0) }, reward: -1, terminated: terminated, truncated: false)
    }
}
