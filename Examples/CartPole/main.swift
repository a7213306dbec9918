// Trains a PPO policy on CartPole-v1 with two env runners on the embedded cluster until the mean
// return of the last 100 training episodes reaches 475, then evaluates it greedily on 20 seeded
// episodes and prints env steps, wall time and the evaluation return.
//
//     swift run -c release CartPole [--processes N] [--seed S] [--steps MAX]
//
// With --processes N the env runners live in N worker processes (this program again).
import Foundation
import IOCompute

struct Options {
    var processes = 0
    var seed: UInt64 = 1
    var maxSteps = 300_000

    static let parsed: Options = {
        var options = Options()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--processes": options.processes = arguments.popFirst().flatMap(Int.init) ?? 2
            case "--seed": options.seed = arguments.popFirst().flatMap(UInt64.init) ?? options.seed
            case "--steps": options.maxSteps = arguments.popFirst().flatMap(Int.init) ?? options.maxSteps
            default:
                print("usage: CartPole [--processes N] [--seed S] [--steps MAX]")
                exit(2)
            }
        }
        return options
    }()
}

let options = Options.parsed
let registry = Registry().environmentRunners()
TensorBackend.setBLASThreads(1)
let cluster =
    options.processes > 0
    ? try await Cluster.start(.localProcesses(workers: options.processes), registry: registry)
    : try await Cluster.start(.inProcess(workers: 2), registry: registry)

// Stable-Baselines3's tuned CartPole settings (rl-baselines3-zoo): 8 environments per runner
// here, 2 runners; 32 steps each per iteration; 20 epochs of minibatches of 256.
var ppo = PPOConfiguration()
ppo.discount = 0.98
ppo.lambda = 0.8
ppo.epochs = 20
ppo.minibatchSize = 256
ppo.learningRate = .linearDecay(base: 1e-3, totalSteps: options.maxSteps / 512)
let trainer = try await OnPolicyTrainer.ppo(
    cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 8, stepsPerIteration: 32, configuration: ppo,
    seed: options.seed)
let start = ContinuousClock.now
let history = try await trainer.train(
    maxEnvironmentSteps: options.maxSteps, stopAtMeanReturn: 475, progress: LearningProgress(totalSteps: options.maxSteps))
let elapsed = ContinuousClock.now - start
let evaluation = try await trainer.evaluate(episodes: 20)
let meanReturn = evaluation.map(\.totalReward).reduce(0, +) / Double(evaluation.count)
let steps = history.iterations.last?.environmentSteps ?? 0
print("PPO on CartPole-v1: \(steps) env steps in \(elapsed), \(history.iterations.count) iterations")
print(String(format: "evaluation over 20 seeded episodes: mean return %.1f (solved at 475)", meanReturn))
try history.writeLearningCurve(to: "cartpole-learning-curve.svg", title: "PPO on CartPole-v1")
print("learning curve: cartpole-learning-curve.svg")
trainer.shutdown()
await cluster.shutdown()
exit(meanReturn >= 475 ? 0 : 1)
