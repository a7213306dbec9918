#if canImport(Glibc)
    import Glibc
#endif

/// A learning rate as a function of the step, set on an optimizer before each step:
///
/// ```swift
/// let schedule = LearningRateSchedule.cosine(base: 0.1, totalSteps: 1000, warmupSteps: 50)
/// optimizer.learningRate = schedule.rate(atStep: step)
/// ```
public enum LearningRateSchedule: Sendable, Equatable {
    /// `base` throughout.
    case constant(base: Double)
    /// `base` multiplied by `factor` every `stepSize` steps (PyTorch's `StepLR`).
    case step(base: Double, stepSize: Int, factor: Double)
    /// A linear warm-up from 0 over `warmupSteps`, then cosine annealing from `base` to `minimum`
    /// at `totalSteps`.
    case cosine(base: Double, totalSteps: Int, warmupSteps: Int = 0, minimum: Double = 0)
    /// A linear warm-up from 0 to `base` over `warmupSteps`, then `base`.
    case linearWarmup(base: Double, warmupSteps: Int)
    /// From `base` down linearly to `minimum` at `totalSteps`, then `minimum` (Stable-Baselines3's
    /// linear schedule, the usual one for PPO).
    case linearDecay(base: Double, totalSteps: Int, minimum: Double = 0)

    /// The rate for step `step` (from 0).
    public func rate(atStep step: Int) -> Double {
        let step = max(step, 0)
        switch self {
        case .constant(let base):
            return base
        case .step(let base, let size, let factor):
            return base * Glibc.pow(factor, Double(step / max(size, 1)))
        case .cosine(let base, let total, let warmup, let minimum):
            if step < warmup { return base * Double(step + 1) / Double(warmup) }
            let span = max(total - warmup, 1)
            let progress = min(Double(step - warmup) / Double(span), 1)
            return minimum + (base - minimum) * (1 + Glibc.cos(Double.pi * progress)) / 2
        case .linearWarmup(let base, let warmup):
            return step < warmup ? base * Double(step + 1) / Double(warmup) : base
        case .linearDecay(let base, let total, let minimum):
            return base + (minimum - base) * min(Double(step) / Double(max(total, 1)), 1)
        }
    }
}
