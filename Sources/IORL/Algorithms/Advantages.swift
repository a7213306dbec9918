/// Advantage and return estimators over time-major rollouts (row `t * environments + e`).
public enum Advantages {
    /// Generalized advantage estimation (Schulman et al. 2016): Â_t = Σ (γλ)^k δ_{t+k} with
    /// δ_t = r_t + γ V(s_{t+1}) − V(s_t), cut at episode ends. A terminated step's next value is
    /// 0; a truncated one's is `truncationValues[t]`, the value of the episode's last
    /// observation (its future still counts). Returns are Â + V, the value targets.
    public static func generalized(
        rewards: [Float], values: [Float], terminated: [Bool], truncated: [Bool], truncationValues: [Float], lastValues: [Float],
        environments: Int, discount: Double, lambda: Double
    ) -> (advantages: [Float], returns: [Float]) {
        let steps = rewards.count / Swift.max(environments, 1)
        var advantages = [Float](repeating: 0, count: rewards.count)
        for environment in 0..<environments {
            var running = 0.0
            for step in stride(from: steps - 1, through: 0, by: -1) {
                let row = step * environments + environment
                let done = terminated[row] || truncated[row]
                let nextValue = Self.nextValue(
                    row: row, step: step, steps: steps, environment: environment, environments: environments, values: values,
                    terminated: terminated, truncated: truncated, truncationValues: truncationValues, lastValues: lastValues)
                let delta = Double(rewards[row]) + discount * nextValue - Double(values[row])
                running = delta + discount * lambda * (done ? 0 : running)
                advantages[row] = Float(running)
            }
        }
        return (advantages, zip(advantages, values).map { $0 + $1 })
    }

    /// Discounted returns to go, G_t = r_t + γ G_{t+1}, cut at episode ends and bootstrapped from
    /// `lastValues` (and `truncationValues` at truncations): REINFORCE's targets.
    public static func discountedReturns(
        rewards: [Float], terminated: [Bool], truncated: [Bool], truncationValues: [Float], lastValues: [Float], environments: Int,
        discount: Double
    ) -> [Float] {
        let zeros = [Float](repeating: 0, count: rewards.count)
        let (advantages, _) = generalized(
            rewards: rewards, values: zeros, terminated: terminated, truncated: truncated, truncationValues: truncationValues,
            lastValues: lastValues, environments: environments, discount: discount, lambda: 1)
        return advantages
    }

    /// V-trace targets and policy-gradient advantages (Espeholt et al. 2018, IMPALA) for
    /// experience gathered by a behaviour policy μ and learned by a target policy π:
    /// ρ_t = min(ρ̄, π/μ), c_t = λ·min(c̄, π/μ),
    /// v_s = V(s) + Σ_t γ^{t−s} (Π_{i<t} c_i) ρ_t δ_t with δ_t = r_t + γ V(s_{t+1}) − V(s_t),
    /// and the advantage ρ_s (r_s + γ v_{s+1} − V(s_s)). Episode ends cut the sums as in
    /// ``generalized(rewards:values:terminated:truncated:truncationValues:lastValues:environments:discount:lambda:)``.
    public static func vTrace(
        behaviourLogProbabilities: [Float], targetLogProbabilities: [Float], rewards: [Float], values: [Float], terminated: [Bool],
        truncated: [Bool], truncationValues: [Float], lastValues: [Float], environments: Int, discount: Double, lambda: Double = 1,
        clipRho: Double = 1, clipC: Double = 1
    ) -> (targets: [Float], advantages: [Float]) {
        let steps = rewards.count / Swift.max(environments, 1)
        var targets = [Float](repeating: 0, count: rewards.count)
        var advantages = [Float](repeating: 0, count: rewards.count)
        for environment in 0..<environments {
            var correction = 0.0  // v_{s+1} − V(s_{s+1}), carried backwards
            for step in stride(from: steps - 1, through: 0, by: -1) {
                let row = step * environments + environment
                let ratio = _exp(Double(targetLogProbabilities[row]) - Double(behaviourLogProbabilities[row]))
                let rho = Swift.min(clipRho, ratio)
                let c = lambda * Swift.min(clipC, ratio)
                let done = terminated[row] || truncated[row]
                let nextValue = Self.nextValue(
                    row: row, step: step, steps: steps, environment: environment, environments: environments, values: values,
                    terminated: terminated, truncated: truncated, truncationValues: truncationValues, lastValues: lastValues)
                let nextTarget = done || step == steps - 1 ? nextValue : nextValue + correction
                let delta = rho * (Double(rewards[row]) + discount * nextValue - Double(values[row]))
                correction = delta + discount * c * (done ? 0 : correction)
                targets[row] = Float(Double(values[row]) + correction)
                advantages[row] = Float(rho * (Double(rewards[row]) + discount * nextTarget - Double(values[row])))
            }
        }
        return (targets, advantages)
    }
}

extension Advantages {
    /// V(s_{t+1}) for the step at `row`: 0 after a termination, the episode's last observation's
    /// value after a truncation, the next step's value otherwise (or the bootstrap value after
    /// the rollout's last step).
    @inline(__always)
    static func nextValue(
        row: Int, step: Int, steps: Int, environment: Int, environments: Int, values: [Float], terminated: [Bool], truncated: [Bool],
        truncationValues: [Float], lastValues: [Float]
    ) -> Double {
        if terminated[row] { return 0 }
        if truncated[row] { return Double(truncationValues[row]) }
        return Double(step == steps - 1 ? lastValues[environment] : values[row + environments])
    }
}

#if canImport(Glibc)
    import Glibc
    @inline(__always) func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
    import Foundation
    @inline(__always) func _exp(_ x: Double) -> Double { Foundation.exp(x) }
#endif
