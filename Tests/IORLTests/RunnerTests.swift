import Foundation
import IORL
import IORuntime
import Testing

/// Runs `body` on a fresh in-process cluster with env runners registered, and shuts it down.
func withRunnerCluster(codec: Bool = false, _ body: (Cluster) async throws -> Void) async throws {
    let cluster = try await Cluster.start(
        .inProcess(workers: 2, resourcesPerWorker: [.cpu: 1], routesThroughCodec: codec), registry: Registry().environmentRunners())
    do {
        try await body(cluster)
    } catch {
        await cluster.shutdown()
        throw error
    }
    await cluster.shutdown()
}

@Suite("env runners and trainers on the cluster", .timeLimit(.minutes(3)))
struct RunnerTests {
    @Test("runners return rollouts whose arrays fit, which survive the wire and refuse to decode when cut", arguments: [false, true])
    func sampling(codec: Bool) async throws {
        try await withRunnerCluster(codec: codec) { cluster in
            let spec = PolicySpec(for: CartPole(), hiddenSizes: [16])
            let group = try await RunnerGroup(
                cluster: cluster, environment: "CartPole-v1", count: 2, environmentsPerRunner: 3, policy: spec, seed: 5)
            let weights = PolicyWeights(version: 1, tensors: try ActorCritic(spec: spec, seed: 1).stateDictionary())
            let rollouts = try await group.sampleAll(weights: weights, steps: 40, mode: .policy)
            #expect(rollouts.count == 2)
            for rollout in rollouts {
                try rollout.validate()
                #expect(rollout.count == 120 && rollout.policyVersion == 1 && !rollout.episodes.isEmpty)
                // Every finished episode of CartPole is worth its length.
                #expect(rollout.episodes.allSatisfy { $0.totalReward == Double($0.length) })
                var encoder = WireEncoder()
                rollout.encode(to: &encoder)
                var decoder = WireDecoder(encoder.bytes)
                let copy = try Rollout(from: &decoder)
                #expect(copy.observations == rollout.observations && copy.actions == rollout.actions && copy.rewards == rollout.rewards)
                #expect(copy.terminated == rollout.terminated && copy.episodes == rollout.episodes && copy.lastValues == rollout.lastValues)
                var cut = WireDecoder(Array(encoder.bytes.dropLast(9)))
                #expect(throws: WireError.self) { try Rollout(from: &cut) }
            }
            // The two runners explore differently.
            #expect(rollouts[0].observations != rollouts[1].observations)
            // Uniform sampling needs no weights.
            let random = try await group.sampleAll(weights: nil, steps: 5, mode: .uniform)
            #expect(random.allSatisfy { $0.count == 15 })
            group.shutdown()
        }
    }

    @Test("a runner that is killed between iterations is replaced from its configuration and training goes on")
    func replacement() async throws {
        // Through the codec, as in a multi-process cluster: a killed actor is gone for its callers.
        try await withRunnerCluster(codec: true) { cluster in
            let trainer = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 2, stepsPerIteration: 16,
                hiddenSizes: [16],
                seed: 3)
            try await trainer.train(iterations: 1)
            let victim = trainer.runners.members[0]
            cluster.kill(victim)
            let history = try await trainer.train(iterations: 2)
            #expect(history.iterations.count == 3)
            #expect(history.iterations.map(\.environmentSteps) == [64, 128, 192])
            #expect(trainer.runners.replacements >= 1)
            #expect(trainer.runners.members[0].id != victim.id)
            trainer.shutdown()
        }
    }

    @Test("evaluation on a fixed seed set repeats, and a checkpoint restores policy, optimiser and history")
    func checkpoints() async throws {
        try await withRunnerCluster { cluster in
            let trainer = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 2, stepsPerIteration: 32,
                hiddenSizes: [16],
                seed: 4)
            try await trainer.train(iterations: 2)
            let first = try await trainer.evaluate(episodes: 5, seed: 70)
            #expect(first.count == 5)
            #expect(try await trainer.evaluate(episodes: 5, seed: 70) == first)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iorl-checkpoint-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try trainer.saveCheckpoint(to: folder)
            #expect(!FileManager.default.fileExists(atPath: folder + ".partial"))

            let restored = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "CartPole-v1", runners: 1, environmentsPerRunner: 2, stepsPerIteration: 32,
                hiddenSizes: [16],
                seed: 99)
            try restored.loadCheckpoint(from: folder)
            #expect(restored.learner.network.stateDictionary() == trainer.learner.network.stateDictionary())
            #expect(restored.learner.optimizer.stateDictionary() == trainer.learner.optimizer.stateDictionary())
            #expect(restored.learner.version == 2 && restored.history == trainer.history)
            #expect(try await restored.evaluate(episodes: 5, seed: 70) == first)
            try await restored.train(iterations: 1)
            #expect(restored.history.iterations.last?.iteration == 3 && restored.history.iterations.last?.environmentSteps == 256 + 64)

            let other = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "CartPole-v1", runners: 1, environmentsPerRunner: 1, hiddenSizes: [8], seed: 1)
            #expect(throws: (any Error).self) { try other.loadCheckpoint(from: folder) }
            #expect(throws: (any Error).self) { try other.loadCheckpoint(from: folder + "-missing") }
            for member in [trainer, restored, other] { member.shutdown() }
        }
    }

    @Test("runners that normalise observations share merged statistics, which checkpoints keep")
    func observationNormalisation() async throws {
        try await withRunnerCluster(codec: true) { cluster in
            let trainer = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "MountainCar-v0", runners: 2, environmentsPerRunner: 2, stepsPerIteration: 16,
                hiddenSizes: [8],
                seed: 6, normalizesObservations: true)
            try await trainer.train(iterations: 2)
            // Every observation the policy acted on was counted once, whichever runner saw it.
            let statistics = try #require(trainer.observationStatistics)
            #expect(abs(statistics.count - 128) < 0.01)
            // MountainCar starts at rest between −0.6 and −0.4 and moves little in 32 steps.
            #expect(statistics.mean[0] > -0.65 && statistics.mean[0] < -0.35 && abs(statistics.mean[1]) < 0.02)
            // The runners saw standardised observations.
            let rollouts = try await trainer.runners.sampleAll(weights: nil, steps: 8, mode: .policy)
            #expect(rollouts.allSatisfy { $0.observations.allSatisfy { abs($0) <= 10 } && $0.observationStatistics?.count == 16 })

            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("iorl-normalised-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try trainer.saveCheckpoint(to: folder)
            let restored = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "MountainCar-v0", runners: 1, environmentsPerRunner: 1, hiddenSizes: [8],
                normalizesObservations: true)
            try restored.loadCheckpoint(from: folder)
            #expect(restored.observationStatistics == statistics)
            let plain = try await OnPolicyTrainer.ppo(
                cluster: cluster, environment: "MountainCar-v0", runners: 1, environmentsPerRunner: 1, hiddenSizes: [8])
            #expect(throws: ReinforcementLearningError.self) { try plain.loadCheckpoint(from: folder) }
            #expect(plain.learner.version == 0)
            for member in [trainer, restored, plain] { member.shutdown() }
        }
    }

    @Test("REINFORCE and DQN train on runners; bad settings and unknown environments are typed errors")
    func otherAlgorithms() async throws {
        try await withRunnerCluster { cluster in
            let reinforce = try await OnPolicyTrainer.reinforce(
                cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 2, stepsPerIteration: 16, hiddenSizes: [16]
            )
            let history = try await reinforce.train(iterations: 2)
            #expect(history.iterations.count == 2 && reinforce.learner.version == 2)
            reinforce.shutdown()

            var configuration = DQNConfiguration()
            configuration.learningStarts = 128
            configuration.gradientSteps = 4
            configuration.batchSize = 16
            let dqn = try await DQNTrainer(
                cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 2, stepsPerIteration: 16,
                hiddenSizes: [16],
                configuration: configuration)
            let dqnHistory = try await dqn.train(maxEnvironmentSteps: 256)
            #expect(dqnHistory.iterations.count == 4 && dqn.replay.count == 256 && dqn.learner.gradientSteps == 12)
            #expect(dqnHistory.iterations[0].update.gradientSteps == 0 && dqnHistory.iterations[3].update.gradientSteps == 4)
            #expect(try await dqn.evaluate(episodes: 3).count == 3)
            dqn.shutdown()

            await #expect(throws: EnvironmentError.unknownEnvironment("Atlantis-v5")) {
                _ = try await OnPolicyTrainer.ppo(cluster: cluster, environment: "Atlantis-v5")
            }
            await #expect(throws: ReinforcementLearningError.self) {
                _ = try await OnPolicyTrainer.ppo(cluster: cluster, environment: "CartPole-v1", runners: 0)
            }
            var bad = PPOConfiguration()
            bad.clipRange = 0
            await #expect(throws: ReinforcementLearningError.self) {
                _ = try await OnPolicyTrainer.ppo(cluster: cluster, environment: "CartPole-v1", configuration: bad)
            }
            // A policy of another shape than the environment's is refused when the runner is built.
            await #expect(throws: (any Error).self) {
                _ = try await RunnerGroup(
                    cluster: cluster, environment: "MountainCar-v0", count: 1, environmentsPerRunner: 1,
                    policy: PolicySpec(for: CartPole()), seed: 0)
            }
        }
    }
}
