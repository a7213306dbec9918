import ClusterTestSupport
import Foundation
import IORL
import IORuntime
import Synchronization
import Testing

@Suite("RL env runners on worker processes", .timeLimit(.minutes(3)))
struct RunnerProcessTests {
    @Test("PPO goes on when a runner's worker process is killed in the middle of a sampling call")
    func runnerKilledMidIteration() async throws {
        let cluster = try await ClusterProcess.start(workers: 3)
        let trainer = try await OnPolicyTrainer.ppo(
            cluster: cluster, environment: "CartPole-v1", runners: 2, environmentsPerRunner: 4, stepsPerIteration: 64, hiddenSizes: [16],
            seed: 2)
        try await trainer.train(iterations: 1)
        let pids = try await trainer.runners.members.asyncMap { try await $0.processID() }
        #expect(Set(pids).count == 2 && !pids.contains(Int(getpid())), "runners live in two worker processes: \(pids)")
        let victim = pids[0]

        // The victim's worker is killed as the sampling call to it is made; the call is made
        // again on the restarted runner, which reads the published weights from the store, and
        // brings back a whole rollout.
        let policy = try await trainer.runners.publish(trainer.learner.weights)
        let killed = Mutex(false)
        let rollout = try await trainer.runners.withRunner(0) { runner in
            if !killed.withLock({ was in
                defer { was = true }; return was
            }) {
                kill(pid_t(victim), SIGKILL)
            }
            return try await runner.sample(policy: policy, steps: 64, mode: .policy)
        }
        try rollout.validate()
        #expect(rollout.count == 256 && rollout.policyVersion == 1)
        let history = try await trainer.train(iterations: 2)
        #expect(history.iterations.count == 3 && history.iterations.last?.environmentSteps == 3 * 512)
        let after = try await trainer.runners.members.asyncMap { try await $0.processID() }
        #expect(!after.contains(victim), "\(after)")
        trainer.shutdown()
        await cluster.shutdown()
    }
}
