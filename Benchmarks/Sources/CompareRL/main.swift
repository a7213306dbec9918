import CompareSupport
// The IOCompute half of `compare rl`: rollout collection and PPO on CartPole-v1, against RLlib's
// env runners and PPO, Gymnasium's vector environment and Stable-Baselines3's PPO
// (`Peers/rl_peers.py`), printed as `NAME VALUE UNIT` lines with VALUE higher-is-better.
//
// - rollout_random, rollout_mlp: 2 env runners × 8 CartPole environments on the in-process
//   cluster collecting 512 steps each per call (8,192 steps), uniform random actions or a
//   64-64 tanh MLP policy sampled per step; env steps/s. `_processes`: the runners in 2 worker
//   processes, as RLlib's always are.
// - vector_random, vector_mlp: one vector of 8 environments stepped in this thread, random actions
//   or the same MLP policy (`InferencePolicy.choose`: actions and their log-probabilities, as the
//   runners' do without the critic): against Gymnasium's SyncVectorEnv in one process.
// - ppo_solves_per_hour: PPO (2 runners × 8 environments, the rl-baselines3-zoo CartPole settings)
//   until the mean return of the last 100 episodes reaches 475, seeds 1-3: 3600 / mean seconds,
//   against RLlib's PPO on the same machine.
// - ppo_solves_per_million_steps: the same runs, 10⁶ / mean env steps to solve, against
//   Stable-Baselines3's PPO with the same settings (ratio ≥ 0.67: within 1.5× of its steps).
// - dqn_gradient_steps: DQN learner updates per second (double DQN, 256-256 MLP, minibatches of
//   64 from a replay buffer of 2,048 CartPole transitions, one BLAS thread), best of 3 × 512,
//   against Stable-Baselines3's `DQN.train` with the zoo settings and one PyTorch thread.
import Foundation
import IOCompute

let registry = Registry().environmentRunners()
TensorBackend.setBLASThreads(1)
let spec = PolicySpec(for: CartPole(), hiddenSizes: [64, 64])
let weights = PolicyWeights(version: 1, tensors: try ActorCritic(spec: spec, seed: 1).stateDictionary())

/// Env steps per second of 2 runners × 8 environments collecting 512 steps each, best of 3.
func rollouts(_ cluster: Cluster, mode: SamplingMode) async throws -> Double {
    let group = try await RunnerGroup(
        cluster: cluster, environment: "CartPole-v1", count: 2, environmentsPerRunner: 8, policy: spec, seed: 1)
    defer { group.shutdown() }
    let seconds = try await bestSeconds(rounds: 3) { keep(try await group.sampleAll(weights: weights, steps: 512, mode: mode)) }
    return 8192 / seconds
}

if wanted("rollout_random") || wanted("rollout_mlp") || wanted("rollout_random_processes") || wanted("rollout_mlp_processes") {
    let inProcess = try await Cluster.start(.inProcess(workers: 2), registry: registry)
    let processes = try await Cluster.start(.localProcesses(workers: 2), registry: registry)
    for caller in callers() {
        let suffix = rowSuffix(caller)
        for (name, cluster) in [("", inProcess), ("_processes", processes)] {
            for (kind, mode) in [("random", SamplingMode.uniform), ("mlp", .policy)] where wanted("rollout_\(kind)\(name)") {
                let rate =
                    caller == "main"
                    ? try await rollouts(cluster, mode: mode) : try await Task.detached { try await rollouts(cluster, mode: mode) }.value
                report("rollout_\(kind)\(name)\(suffix)", rate, "steps/s")
            }
        }
    }
    await inProcess.shutdown()
    await processes.shutdown()
}

/// Env steps per second of one vector of 8 environments stepped 1,000 times in this thread.
func vectorSteps(policy: InferencePolicy?) throws -> Double {
    var environments = try VectorEnvironment(count: 8, seed: 1) { try EnvironmentCatalog.standard.make("CartPole-v1") }
    environments.reset()
    var random = SplitMix64(seed: 2)
    let start = ContinuousClock.now
    for _ in 0..<1000 {
        let actions: [Action]
        if let policy {
            let (batch, _) = try policy.choose(environments.observations, count: 8, random: &random)
            actions = (0..<8).map { batch[$0] }
        } else {
            actions = (0..<8).map { _ in .discrete(Int(random.next() & 1)) }
        }
        keep(try environments.step(actions))
    }
    let elapsed = ContinuousClock.now - start
    return 8000 / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
}
if wanted("vector_random") { report("vector_random", max(try vectorSteps(policy: nil), try vectorSteps(policy: nil)), "steps/s") }
if wanted("vector_mlp") {
    let policy = try InferencePolicy(try ActorCritic(spec: spec, seed: 1))
    report("vector_mlp", max(try vectorSteps(policy: policy), try vectorSteps(policy: policy)), "steps/s")
}

if wanted("ppo_solves_per_hour") || wanted("ppo_solves_per_million_steps") {
    let cluster = try await Cluster.start(.inProcess(workers: 2), registry: registry)
    var seconds: [Double] = []
    var steps: [Int] = []
    for seed in UInt64(1)...3 {
        var ppo = PPOConfiguration()
        ppo.discount = 0.98
        ppo.lambda = 0.8
        ppo.epochs = 20
        ppo.minibatchSize = 256
        ppo.learningRate = .linearDecay(base: 1e-3, totalSteps: 1_000_000 / 512)
        let start = ContinuousClock.now
        let trainer = try await OnPolicyTrainer.ppo(
            cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 8, stepsPerIteration: 32, configuration: ppo,
            seed: seed)
        let history = try await trainer.train(maxEnvironmentSteps: 1_000_000, stopAtMeanReturn: 475)
        let elapsed = ContinuousClock.now - start
        seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        steps.append(history.iterations.last?.environmentSteps ?? 0)
        FileHandle.standardError.write(
            Data(
                "# IOCompute PPO seed \(seed): \(steps.last!) steps, \(String(format: "%.1f", seconds.last!)) s, mean return \(history.finalMeanReturn ?? 0)\n"
                    .utf8))
        trainer.shutdown()
    }
    await cluster.shutdown()
    report("ppo_solves_per_hour", 3600 / (seconds.reduce(0, +) / 3), "solves/h")
    report("ppo_solves_per_million_steps", 1e6 / (Double(steps.reduce(0, +)) / 3), "solves/Msteps")
}

if wanted("dqn_gradient_steps") {
    let cartPole = PolicySpec(for: CartPole(), hiddenSizes: [256, 256])
    let learner = try DQNLearner(spec: cartPole, configuration: DQNConfiguration(), seed: 1)
    var replay = try ReplayBuffer(capacity: 100_000, observationDimension: 4)
    var environments = try VectorEnvironment(count: 8, seed: 1) { try EnvironmentCatalog.standard.make("CartPole-v1") }
    environments.reset()
    var random = SplitMix64(seed: 3)
    for _ in 0..<256 {
        let observations = environments.observations
        let actions = (0..<8).map { _ in Int(random.next() & 1) }
        let result = try environments.step(actions.map { .discrete($0) })
        for index in 0..<8 {
            replay.append(
                observation: observations[(index * 4)..<((index + 1) * 4)], action: actions[index], reward: Float(result.rewards[index]),
                nextObservation: (result.finalObservations[index] ?? Array(environments.observations[(index * 4)..<((index + 1) * 4)]))[
                    ...],
                terminated: result.terminated[index])
        }
    }
    let seconds = try await bestSeconds(rounds: 3) {
        for _ in 0..<512 { try learner.update(replay.sample(64, using: &random)) }
    }
    report("dqn_gradient_steps", 512 / seconds, "steps/s")
}
