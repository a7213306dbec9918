import IONN
import IORL
import IOTensor
import IOTensorOpenCL
import Testing

/// IORL's learners on an OpenCL device: the same seeded learner fed the same rollouts must make
/// the same updates on the device as on the CPU, with every kernel on the device.
@Suite("IORL learners on an OpenCL device", .serialized, .timeLimit(.minutes(3)))
struct DeviceLearnerTests {
    /// A rollout of `steps` steps of `environments` environments with 4-element observations,
    /// drawn from `seed`: random observations, rewards, behaviour log-probabilities and values,
    /// some terminations and one truncation.
    static func rollout(seed: UInt64, continuous: Bool, steps: Int = 32, environments: Int = 4) -> Rollout {
        var random = SplitMix64(seed: seed)
        let count = steps * environments
        let dimension = 4
        let actions: ActionBatch =
            continuous
            ? .continuous((0..<count).map { _ in Float(random.standardNormal()) }, dimension: 1)
            : .discrete((0..<count).map { _ in Int(random.next() % 2) })
        var truncated = [Bool](repeating: false, count: count)
        truncated[count / 2] = true
        var truncationValues = [Float](repeating: 0, count: count)
        truncationValues[count / 2] = 0.3
        return Rollout(
            steps: steps, environments: environments, observationDimension: dimension,
            observations: (0..<(count * dimension)).map { _ in Float(random.standardNormal()) }, actions: actions,
            rewards: (0..<count).map { _ in Float(random.unit()) }, terminated: (0..<count).map { $0 % 29 == 28 }, truncated: truncated,
            logProbabilities: (0..<count).map { _ in Float(-0.4 - random.unit() * 0.6) },
            values: (0..<count).map { _ in Float(random.standardNormal()) }, truncationValues: truncationValues,
            truncationObservations: [0.1, -0.2, 0.3, -0.4], lastValues: (0..<environments).map { Float($0) * 0.1 },
            lastObservations: (0..<(environments * dimension)).map { _ in Float(random.standardNormal()) }, episodes: [], policyVersion: 0,
            seconds: 0.01)
    }

    /// Every weight of `a` within `tolerance` of `b`'s, relative to the weight's scale.
    static func expectSameWeights(_ a: ActorCritic, _ b: ActorCritic, tolerance: Float = 2e-3, _ label: String) {
        let (left, right) = (a.stateDictionary(), b.stateDictionary())
        #expect(Set(left.keys) == Set(right.keys))
        for (name, tensor) in left {
            guard let other = right[name] else { continue }
            #expect(tensor.device == .cpu && other.device == .cpu, "\(label): state dictionaries are in host memory")
            let scale = max(1, other.scalars.map(abs).max() ?? 1)
            let worst = zip(tensor.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= tolerance * scale, "\(label): \(name) differs by \(worst)")
        }
    }

    static func expectClose(_ a: Double, _ b: Double, _ label: String) {
        #expect(abs(a - b) <= 1e-3 * max(1, abs(b)), "\(label): \(a) on the device, \(b) on the CPU")
    }

    @Test(
        "PPO's minibatch epochs on the device equal the CPU's (categorical and Gaussian, ReLU and tanh, value clipping and entropy)",
        arguments: [(false, Activation.tanh), (true, .relu)])
    func ppo(continuous: Bool, activation: Activation) throws {
        let check = try DeviceCheck()
        var configuration = PPOConfiguration()
        configuration.epochs = 3
        configuration.minibatchSize = 32
        configuration.valueClipRange = 0.2
        configuration.entropyCoefficient = 0.01
        let spec = PolicySpec(
            observationDimension: 4, actionSpace: continuous ? .box(low: [-2], high: [2]) : .discrete(2), hiddenSizes: [32, 32],
            activation: activation)
        let cpu = try PPOLearner(spec: spec, configuration: configuration, seed: 7)
        let device = try PPOLearner(spec: spec, configuration: configuration, seed: 7, device: check.device)
        #expect(device.network.device == check.device)
        let (fallbacks, launches) = (check.backend.fallbackCount, check.backend.launchCount)
        for iteration in 0..<2 {
            let rollouts = [Self.rollout(seed: UInt64(iteration), continuous: continuous)]
            let expected = try cpu.update(rollouts)
            let actual = try device.update(rollouts)
            #expect(actual.gradientSteps == expected.gradientSteps)
            Self.expectClose(actual.policyLoss, expected.policyLoss, "policy loss")
            Self.expectClose(actual.valueLoss, expected.valueLoss, "value loss")
            Self.expectClose(actual.entropy, expected.entropy, "entropy")
            Self.expectClose(actual.approximateKL, expected.approximateKL, "approximate KL")
        }
        #expect(check.backend.fallbackCount == fallbacks, "fell back to the CPU: \(check.backend.lastFallbackReason ?? "")")
        #expect(check.backend.launchCount > launches + 100, "the updates ran their kernels on the device")
        for parameter in device.network.parameters { #expect(parameter.value.device == check.device) }
        Self.expectSameWeights(device.network, cpu.network, "PPO")
        // What runners get is in host memory and acts as the CPU learner's policy does.
        let weights = device.weights
        #expect(weights.tensors.values.allSatisfy { $0.device == .cpu })
        let runner = try ActorCritic(spec: spec, seed: 99)
        try runner.load(weights.tensors)
        #expect(runner.device == .cpu)
        Self.expectSameWeights(runner, cpu.network, "weights sent to runners")
    }

    @Test("DQN's Huber updates and double-Q targets on the device equal the CPU's; the target copy stays on the device")
    func dqn() throws {
        let check = try DeviceCheck()
        let spec = PolicySpec(observationDimension: 4, actionSpace: .discrete(2), hiddenSizes: [64, 64], activation: .relu)
        let configuration = DQNConfiguration()
        let cpu = try DQNLearner(spec: spec, configuration: configuration, seed: 3)
        let device = try DQNLearner(spec: spec, configuration: configuration, seed: 3, device: check.device)
        var replay = try ReplayBuffer(capacity: 1000, observationDimension: 4)
        try replay.append(Self.rollout(seed: 11, continuous: false))
        let fallbacks = check.backend.fallbackCount
        var (first, second) = (SplitMix64(seed: 5), SplitMix64(seed: 5))
        for step in 0..<20 {
            let (a, b) = (replay.sample(64, using: &first), replay.sample(64, using: &second))
            let (expectedTargets, actualTargets) = (try cpu.targets(a), try device.targets(b))
            #expect(zip(expectedTargets, actualTargets).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($0)) }, "targets at step \(step)")
            Self.expectClose(try device.update(b), try cpu.update(a), "loss at step \(step)")
            if step % 5 == 4 {
                try cpu.updateTarget()
                try device.updateTarget()
            }
        }
        #expect(check.backend.fallbackCount == fallbacks, "fell back to the CPU: \(check.backend.lastFallbackReason ?? "")")
        for parameter in device.online.parameters + device.target.parameters { #expect(parameter.value.device == check.device) }
        Self.expectSameWeights(device.online, cpu.online, "DQN online")
        Self.expectSameWeights(device.target, cpu.target, "DQN target")
    }

    @Test("REINFORCE's and IMPALA's V-trace updates on the device equal the CPU's")
    func reinforceAndIMPALA() throws {
        let check = try DeviceCheck()
        let spec = PolicySpec(observationDimension: 4, actionSpace: .discrete(2), hiddenSizes: [32])
        let fallbacks = check.backend.fallbackCount
        let cpu = try REINFORCELearner(spec: spec, configuration: REINFORCEConfiguration(), seed: 1)
        let device = try REINFORCELearner(spec: spec, configuration: REINFORCEConfiguration(), seed: 1, device: check.device)
        let impalaCPU = try IMPALALearner(spec: spec, configuration: IMPALAConfiguration(), seed: 2)
        let impalaDevice = try IMPALALearner(spec: spec, configuration: IMPALAConfiguration(), seed: 2, device: check.device)
        for iteration in 0..<3 {
            let rollout = Self.rollout(seed: 20 + UInt64(iteration), continuous: false)
            Self.expectClose(try device.update([rollout]).policyLoss, try cpu.update([rollout]).policyLoss, "REINFORCE policy loss")
            let (expected, actual) = (try impalaCPU.update(rollout), try impalaDevice.update(rollout))
            Self.expectClose(actual.policyLoss, expected.policyLoss, "IMPALA policy loss")
            Self.expectClose(actual.valueLoss, expected.valueLoss, "IMPALA value loss")
        }
        #expect(check.backend.fallbackCount == fallbacks, "fell back to the CPU: \(check.backend.lastFallbackReason ?? "")")
        Self.expectSameWeights(device.network, cpu.network, "REINFORCE")
        Self.expectSameWeights(impalaDevice.network, impalaCPU.network, "IMPALA")
    }

    @Test("a learner on a device that does not exist is a typed error")
    func missingDevice() throws {
        let spec = PolicySpec(observationDimension: 4, actionSpace: .discrete(2))
        #expect(throws: TensorError.self) { try PPOLearner(spec: spec, configuration: PPOConfiguration(), seed: 0, device: .opencl(99)) }
        let network = try ActorCritic(spec: spec, seed: 0)
        #expect(throws: TensorError.self) { try network.to(.opencl(99)) }
        #expect(network.device == .cpu)
        for parameter in network.parameters { #expect(parameter.value.device == .cpu) }
    }
}
