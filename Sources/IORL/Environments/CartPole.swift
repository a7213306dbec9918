import Foundation
import IOTensor

/// CartPole with Gymnasium's exact dynamics (`CartPole-v1`, after Barto, Sutton and Anderson
/// 1983): a pole on a cart that moves along a track; push left (0) or right (1) to keep it up.
///
/// Gravity 9.8, cart mass 1.0, pole mass 0.1, pole half-length 0.5, force 10, explicit Euler
/// steps of τ = 0.02 s in double precision; the episode terminates when the pole leans past ±12°
/// or the cart leaves ±2.4. Every step until then is worth 1. The observation is the state
/// (position, velocity, angle, angular velocity) as 32-bit floats. This type has no time limit:
/// ``EnvironmentCatalog`` builds `CartPole-v1` as `TimeLimit(CartPole(), maxSteps: 500)`.
///
/// Resets draw each state variable uniformly from [−0.05, 0.05], as Gymnasium does, but from
/// `SplitMix64` rather than NumPy's PCG64, so a seed gives a different (equally distributed)
/// start than Gymnasium's; from the same state every step matches Gymnasium's.
public struct CartPole: Environment {
    public static let gravity = 9.8
    public static let cartMass = 1.0
    public static let poleMass = 0.1
    public static let halfLength = 0.5
    public static let forceMagnitude = 10.0
    public static let tau = 0.02
    public static let angleLimit = 12 * 2 * Double.pi / 360
    public static let positionLimit = 2.4

    /// Position, velocity, angle, angular velocity, in double precision (Gymnasium's `state`).
    /// Set it to start an episode from a chosen state (after a reset).
    public var state: [Double] = [0, 0, 0, 0]
    private var random = SplitMix64(seed: 0)
    private var running = false

    public init() {}

    public var observationSpace: Space {
        let big = Float.greatestFiniteMagnitude
        let x = Float(Self.positionLimit * 2)
        let theta = Float(Self.angleLimit * 2)
        return .box(low: [-x, -big, -theta, -big], high: [x, big, theta, big])
    }

    public var actionSpace: Space { .discrete(2) }

    public mutating func reset(seed: UInt64?) -> [Float] {
        if let seed { random = SplitMix64(seed: seed) }
        state = (0..<4).map { _ in random.uniform(-0.05, 0.05) }
        running = true
        return state.map { Float($0) }
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        guard case .discrete(let push) = action, (0..<2).contains(push) else { throw .invalidAction(action, space: actionSpace) }
        guard running, state.count == 4 else { throw .needsReset }
        var (x, xDot, theta, thetaDot) = (state[0], state[1], state[2], state[3])
        // The same operations in the same order as Gymnasium's step, so that results match bit for bit.
        let totalMass = Self.poleMass + Self.cartMass
        let poleMassLength = Self.poleMass * Self.halfLength
        let force = push == 1 ? Self.forceMagnitude : -Self.forceMagnitude
        let cosTheta = cos(theta)
        let sinTheta = sin(theta)
        let temp = (force + poleMassLength * (thetaDot * thetaDot) * sinTheta) / totalMass
        let thetaAcceleration =
            (Self.gravity * sinTheta - cosTheta * temp)
            / (Self.halfLength * (4.0 / 3.0 - Self.poleMass * (cosTheta * cosTheta) / totalMass))
        let xAcceleration = temp - poleMassLength * thetaAcceleration * cosTheta / totalMass
        x = x + Self.tau * xDot
        xDot = xDot + Self.tau * xAcceleration
        theta = theta + Self.tau * thetaDot
        thetaDot = thetaDot + Self.tau * thetaAcceleration
        state = [x, xDot, theta, thetaDot]
        let terminated =
            x < -Self.positionLimit || x > Self.positionLimit || theta < -Self.angleLimit || theta > Self.angleLimit
        running = !terminated
        return Step(observation: state.map { Float($0) }, reward: 1, terminated: terminated, truncated: false)
    }
}
