import Foundation
import IOTensor

/// The inverted pendulum swing-up with Gymnasium's exact dynamics (`Pendulum-v1`): apply a
/// torque in [−2, 2] to swing a pendulum up and hold it upright.
///
/// g = 10, m = 1, l = 1, dt = 0.05; the angular velocity is clipped to ±8. The reward is
/// −(θ² + 0.1·θ̇² + 0.001·u²) with θ normalised to [−π, π); episodes never terminate
/// (``EnvironmentCatalog`` builds `Pendulum-v1` with a 200-step time limit). The observation is
/// (cos θ, sin θ, θ̇). Resets draw θ from [−π, π] and θ̇ from [−1, 1] with `SplitMix64`.
///
/// The torque is computed in 32-bit floats where Gymnasium's is (the action is a float32
/// array), and squared with libm's `powf` as NumPy does, so that rewards and states match
/// Gymnasium's to the last bit.
public struct Pendulum: Environment {
    public static let gravity = 10.0
    public static let mass = 1.0
    public static let length = 1.0
    public static let dt = 0.05
    public static let maxSpeed = 8.0
    public static let maxTorque: Float = 2

    /// θ and θ̇ in double precision (Gymnasium's `state`); set it to start from a chosen state.
    public var state: [Double] = [0, 0]
    private var random = SplitMix64(seed: 0)
    private var running = false

    public init() {}

    public var observationSpace: Space { .box(low: [-1, -1, Float(-Self.maxSpeed)], high: [1, 1, Float(Self.maxSpeed)]) }
    public var actionSpace: Space { .box(low: [-Self.maxTorque], high: [Self.maxTorque]) }

    public mutating func reset(seed: UInt64?) -> [Float] {
        if let seed { random = SplitMix64(seed: seed) }
        state = [random.uniform(-Double.pi, Double.pi), random.uniform(-1, 1)]
        running = true
        return observation
    }

    public mutating func step(_ action: Action) throws(EnvironmentError) -> Step {
        guard actionSpace.contains(action), case .continuous(let values) = action else { throw .invalidAction(action, space: actionSpace) }
        guard running, state.count == 2 else { throw .needsReset }
        let (theta, thetaDot) = (state[0], state[1])
        let u = values[0]
        // NumPy squares the float32 torque with libm's powf, which can differ from u·u in the last bit.
        let cost = Self.normalized(theta) * Self.normalized(theta) + 0.1 * (thetaDot * thetaDot) + Double(Float(0.001) * powf(u, 2))
        var newThetaDot =
            thetaDot
            + (3 * Self.gravity / (2 * Self.length) * sin(theta) + Double(Float(3.0 / (Self.mass * Self.length * Self.length)) * u))
            * Self.dt
        newThetaDot = Swift.min(Swift.max(newThetaDot, -Self.maxSpeed), Self.maxSpeed)
        state = [theta + newThetaDot * Self.dt, newThetaDot]
        return Step(observation: observation, reward: -cost, terminated: false, truncated: false)
    }

    private var observation: [Float] { [Float(cos(state[0])), Float(sin(state[0])), Float(state[1])] }

    /// θ in [−π, π): NumPy's `(θ + π) % 2π − π`, whose remainder takes the divisor's sign.
    static func normalized(_ theta: Double) -> Double {
        var remainder = fmod(theta + Double.pi, 2 * Double.pi)
        if remainder != 0 && remainder < 0 { remainder += 2 * Double.pi }
        return remainder - Double.pi
    }
}
