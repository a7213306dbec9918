import Foundation
import IOCompute

/// The IORL part of the demo: PPO learns to balance CartPole-v1 with two env runners on the
/// embedded cluster, then plays 20 seeded evaluation episodes greedily.
enum ReinforcementLearningDemo {
    /// Trains until the mean return of the last 100 episodes reaches 475 (at most 150,000 env
    /// steps); returns the `reinforcement learning:` line.
    static func run(seed: UInt64) async throws -> String {
        let cluster = try await Cluster.start(.inProcess(workers: 2), registry: Registry().environmentRunners())
        print("IORL: PPO on CartPole-v1, 2 env runners × 8 environments, until the last 100 episodes average 475")
        // Stable-Baselines3's tuned CartPole settings (rl-baselines3-zoo).
        var ppo = PPOConfiguration()
        ppo.discount = 0.98
        ppo.lambda = 0.8
        ppo.epochs = 20
        ppo.minibatchSize = 256
        let maxSteps = 150_000
        ppo.learningRate = .linearDecay(base: 1e-3, totalSteps: maxSteps / 512)
        let trainer = try await OnPolicyTrainer.ppo(
            cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 8, stepsPerIteration: 32, configuration: ppo,
            seed: seed)
        let start = ContinuousClock.now
        let history = try await trainer.train(
            maxEnvironmentSteps: maxSteps, stopAtMeanReturn: 475, progress: LearningProgress(totalSteps: maxSteps))
        let elapsed = ContinuousClock.now - start
        let evaluation = try await trainer.evaluate(episodes: 20)
        trainer.shutdown()
        await cluster.shutdown()
        let meanReturn = evaluation.map(\.totalReward).reduce(0, +) / Double(evaluation.count)
        let steps = history.iterations.last?.environmentSteps ?? 0
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return "reinforcement learning: PPO \(meanReturn >= 475 ? "solved" : "did not solve") CartPole-v1 in \(steps) env steps "
            + String(
                format: "(%.1f s, %.0f steps/s); greedy evaluation over 20 seeded episodes: mean return %.1f of 500", seconds,
                Double(steps) / seconds, meanReturn)
    }
}
