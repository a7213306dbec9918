import IONN
import IORL
import IOTensor
import Testing

/// A small rollout from fixed numbers: 3 steps of 2 environments of 3-element observations.
func syntheticRollout(seed: UInt64, actions: ActionBatch? = nil, truncatedRow: Int? = nil) -> Rollout {
    var random = SplitMix64(seed: seed)
    let (steps, environments, dimension) = (3, 2, 3)
    let count = steps * environments
    let observations = (0..<(count * dimension)).map { _ in Float(random.standardNormal()) }
    var truncated = Array(repeating: false, count: count)
    var truncationObservations: [Float] = []
    var truncationValues = [Float](repeating: 0, count: count)
    if let truncatedRow {
        truncated[truncatedRow] = true
        truncationObservations = [9, 9, 9]
        truncationValues[truncatedRow] = 0.5
    }
    return Rollout(
        steps: steps, environments: environments, observationDimension: dimension, observations: observations,
        actions: actions ?? .discrete((0..<count).map { $0 % 2 }), rewards: (0..<count).map { Float($0) * 0.25 - 0.5 },
        terminated: [false, false, true, false, false, false], truncated: truncated,
        logProbabilities: (0..<count).map { _ in Float(-0.3 - random.unit() * 0.8) }, values: (0..<count).map { _ in Float(random.unit()) },
        truncationValues: truncationValues, truncationObservations: truncationObservations, lastValues: [0.2, -0.1],
        lastObservations: [1, 2, 3, 4, 5, 6], episodes: [EpisodeRecord(totalReward: 3, length: 3)], policyVersion: 4, seconds: 0.01)
}

@Suite("learners: PPO, REINFORCE and DQN")
struct LearnerTests {
    /// Checks the gradient of `loss` with respect to a few entries of every parameter against
    /// central differences.
    func checkGradients(_ parameters: [Variable<Float>], _ loss: () throws -> Variable<Float>) throws {
        let value = try loss()
        for parameter in parameters { parameter.gradient = nil }
        try value.backward()
        for parameter in parameters {
            let gradient = try #require(parameter.gradient).scalars
            let original = parameter.value
            for index in Set([0, original.count / 2, original.count - 1]) {
                var scalars = original.scalars
                let step: Float = 1e-2
                scalars[index] += step
                try parameter.assign(try Tensor(shape: original.shape, scalars: scalars))
                let plus = try loss().value.scalars[0]
                scalars[index] -= 2 * step
                try parameter.assign(try Tensor(shape: original.shape, scalars: scalars))
                let minus = try loss().value.scalars[0]
                try parameter.assign(original)
                let numeric = (plus - minus) / (2 * step)
                #expect(
                    abs(numeric - gradient[index]) <= 5e-4 + 2e-2 * abs(numeric),
                    "parameter of shape \(original.shape), entry \(index): analytic \(gradient[index]), numeric \(numeric)")
            }
        }
    }

    /// The network with its policy head scaled up from its near-uniform start, so that every
    /// parameter's gradient is far from zero.
    func sharpened(_ network: ActorCritic) throws {
        var state = network.stateDictionary()
        let head = state.keys.filter { $0.hasPrefix("actor.") && $0.hasSuffix(".weight") }.max()!
        state[head] = state[head]! * 100
        try network.load(state)
    }

    @Test("the PPO loss (clipped surrogate, clipped value, entropy) has the gradients of finite differences")
    func ppoGradients() throws {
        var configuration = PPOConfiguration()
        configuration.valueClipRange = 0.2
        configuration.entropyCoefficient = 0.05
        configuration.clipRange = 0.3
        let spec = PolicySpec(observationDimension: 3, actionSpace: .discrete(2), hiddenSizes: [5])
        let learner = try PPOLearner(spec: spec, configuration: configuration, seed: 3)
        let batch = try TrainingBatch(rollouts: [syntheticRollout(seed: 1)], discount: 0.9, lambda: 0.95)
        let rows = Array(0..<batch.count)
        try sharpened(learner.network)
        #expect(try learner.loss(batch, rows: rows).statistics.clipFraction > 0, "some ratios fall outside the clip range")
        try checkGradients(learner.network.parameters) { try learner.loss(batch, rows: rows).loss }

        let gaussian = try PPOLearner(
            spec: PolicySpec(observationDimension: 3, actionSpace: .box(low: [-1, -1], high: [1, 1]), hiddenSizes: [4]),
            configuration: configuration, seed: 5)
        let continuous = try TrainingBatch(
            rollouts: [syntheticRollout(seed: 2, actions: .continuous((0..<12).map { Float($0 % 5) * 0.3 - 0.6 }, dimension: 2))],
            discount: 0.9, lambda: 0.95)
        try sharpened(gaussian.network)
        try checkGradients(gaussian.network.parameters) { try gaussian.loss(continuous, rows: rows).loss }
    }

    @Test("a PPO update that moves the policy by little clips nothing; one update per call bumps the version")
    func ppoUpdate() throws {
        var configuration = PPOConfiguration()
        configuration.epochs = 1
        configuration.minibatchSize = 6
        let spec = PolicySpec(observationDimension: 3, actionSpace: .discrete(2), hiddenSizes: [8])
        let learner = try PPOLearner(spec: spec, configuration: configuration, seed: 9)
        // Log-probabilities of the current policy: the first minibatch's ratios are exactly 1.
        var rollout = syntheticRollout(seed: 4)
        let observations = Variable(try Tensor(shape: [6, 3], scalars: rollout.observations))
        rollout.logProbabilities = try withoutGradients {
            try learner.network.distribution(observations).logProbability(of: rollout.actions).value.scalars
        }
        let statistics = try learner.update([rollout])
        #expect(statistics.clipFraction == 0 && abs(statistics.approximateKL) < 1e-6 && statistics.gradientSteps == 1)
        #expect(learner.version == 1 && learner.weights.version == 1)
        #expect(throws: ReinforcementLearningError.self) {
            try learner.update([syntheticRollout(seed: 5, actions: .continuous(Array(repeating: 0, count: 6), dimension: 1))])
        }
        var broken = syntheticRollout(seed: 6)
        broken.rewards.removeLast()
        #expect(throws: ReinforcementLearningError.self) { try learner.update([broken]) }
    }

    @Test("REINFORCE's update raises the log-probability of actions with above-average returns")
    func reinforce() throws {
        var configuration = REINFORCEConfiguration()
        configuration.learningRate = .constant(base: 0.05)
        let learner = try REINFORCELearner(
            spec: PolicySpec(observationDimension: 3, actionSpace: .discrete(2), hiddenSizes: [8]), configuration: configuration, seed: 1)
        // Action 1 is always rewarded, action 0 punished.
        var rollout = syntheticRollout(seed: 7)
        rollout.terminated = Array(repeating: true, count: 6)
        rollout.rewards = (0..<6).map { $0 % 2 == 1 ? 1 : -1 }
        func preference() throws -> Float {
            let input = Variable(try Tensor(shape: [6, 3], scalars: rollout.observations))
            return try withoutGradients {
                try learner.network.distribution(input).logProbability(of: .discrete(Array(repeating: 1, count: 6))).value.scalars.reduce(
                    0, +)
            }
        }
        let before = try preference()
        for _ in 0..<5 { _ = try learner.update([rollout]) }
        #expect(try preference() > before)
    }

    @Test("DQN targets: r + γ·Q_target(s′, argmax Q_online(s′)) for double DQN, the target's max otherwise, r at terminations")
    func dqnTargets() throws {
        let spec = PolicySpec(observationDimension: 3, actionSpace: .discrete(3), hiddenSizes: [6])
        var configuration = DQNConfiguration()
        configuration.discount = 0.9
        let learner = try DQNLearner(spec: spec, configuration: configuration, seed: 1)
        try learner.target.load(try ActorCritic(spec: spec, seed: 77).stateDictionary())
        var random = SplitMix64(seed: 2)
        let next = (0..<12).map { _ in Float(random.standardNormal()) }
        let batch = ReplayBatch(
            observations: Array(repeating: 0, count: 12), actions: [0, 1, 2, 0], rewards: [1, -1, 0.5, 2], nextObservations: next,
            terminated: [false, true, false, false])
        func q(_ network: ActorCritic) throws -> [Float] {
            try withoutGradients { try network.actor(Variable(try Tensor(shape: [4, 3], scalars: next))).value.scalars }
        }
        let (online, target) = (try q(learner.online), try q(learner.target))
        let expected = (0..<4).map { row -> Float in
            let picks = Array(online[(row * 3)..<(row * 3 + 3)])
            let best = picks.firstIndex(of: picks.max()!)!
            return batch.rewards[row] + (batch.terminated[row] ? 0 : 0.9 * target[row * 3 + best])
        }
        #expect(try learner.targets(batch) == expected)
        #expect(try learner.targets(batch)[1] == -1)

        configuration.doubleQ = false
        let plain = try DQNLearner(spec: spec, configuration: configuration, seed: 1)
        try plain.target.load(learner.target.stateDictionary())
        let maxima = (0..<4).map { row -> Float in
            batch.rewards[row] + (batch.terminated[row] ? 0 : 0.9 * Array(target[(row * 3)..<(row * 3 + 3)]).max()!)
        }
        #expect(try plain.targets(batch) == maxima)
        #expect(throws: ReinforcementLearningError.self) {
            try DQNLearner(
                spec: PolicySpec(observationDimension: 1, actionSpace: .box(low: [0], high: [1])), configuration: configuration, seed: 0)
        }
    }

    @Test("a replay buffer takes next observations from the next step, the rollout's end and truncations, and wraps")
    func replayBuffer() throws {
        var buffer = try ReplayBuffer(capacity: 100, observationDimension: 3)
        let rollout = syntheticRollout(seed: 8, truncatedRow: 3)
        try buffer.append(rollout)
        #expect(buffer.count == 6)
        var random = SplitMix64(seed: 1)
        let batch = buffer.sample(400, using: &random)
        for row in 0..<batch.count {
            let observation = Array(batch.observations[(row * 3)..<(row * 3 + 3)])
            let source = (0..<6).first { Array(rollout.observations[($0 * 3)..<($0 * 3 + 3)]) == observation }!
            let next = Array(batch.nextObservations[(row * 3)..<(row * 3 + 3)])
            switch source {
            case 3: #expect(next == [9, 9, 9])
            case 4, 5: #expect(next == Array(rollout.lastObservations[((source - 4) * 3)..<((source - 3) * 3)]))
            default: #expect(next == Array(rollout.observations[((source + 2) * 3)..<((source + 3) * 3)]))
            }
            #expect(batch.actions[row] == source % 2 && batch.terminated[row] == (source == 2))
        }
        var small = try ReplayBuffer(capacity: 4, observationDimension: 3)
        try small.append(rollout)
        #expect(small.count == 4)
        #expect(throws: ReinforcementLearningError.self) { try ReplayBuffer(capacity: 0, observationDimension: 3) }
        #expect(throws: ReinforcementLearningError.self) {
            try small.append(syntheticRollout(seed: 1, actions: .continuous(Array(repeating: 0, count: 6), dimension: 1)))
        }
    }
}

@Suite("the forward-only policy env runners act with")
struct InferencePolicyTests {
    /// A network whose weights are all drawn again at a larger scale, so that its actions depend
    /// on the observations.
    func sharpened(_ spec: PolicySpec) throws -> ActorCritic {
        let network = try ActorCritic(spec: spec, seed: 3)
        var random = SplitMix64(seed: 4)
        for parameter in network.parameters {
            try parameter.assign(
                try Tensor(shape: parameter.shape, scalars: (0..<parameter.value.count).map { _ in Float(random.standardNormal()) }))
        }
        return network
    }

    @Test(
        "it draws the autograd network's actions from the same stream, with its log-probabilities and values (tanh and ReLU)",
        arguments: [Space.discrete(3), .box(low: [-1, -1], high: [1, 1])], [(false, Activation.tanh), (true, .tanh), (false, .relu)])
    func matchesTheNetwork(space: Space, mode: (greedy: Bool, activation: Activation)) throws {
        let greedy = mode.greedy
        let network = try sharpened(
            PolicySpec(observationDimension: 4, actionSpace: space, hiddenSizes: [16, 8], activation: mode.activation))
        #expect(network.actor.layers.contains { mode.activation == .relu ? $0 is ReLU<Float> : $0 is Tanh<Float> })
        let inference = try InferencePolicy(network)
        var random = SplitMix64(seed: 5)
        let observations = (0..<(64 * 4)).map { _ in Float(random.standardNormal()) }
        var first = SplitMix64(seed: 6)
        var second = SplitMix64(seed: 6)
        let expected = try network.act(observations, count: 64, greedy: greedy, random: &first)
        let actual = try inference.act(observations, count: 64, greedy: greedy, random: &second)
        switch (expected.actions, actual.actions) {
        case (.discrete(let a), .discrete(let b)):
            #expect(a == b)
            #expect(Set(b).count > 1, "the actions depend on the observations")
        case (.continuous(let a, _), .continuous(let b, _)):
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-4 })
        default: Issue.record("actions of different kinds")
        }
        #expect(zip(expected.logProbabilities, actual.logProbabilities).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(expected.values, actual.values).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(first.next() == second.next(), "both drew the same number of values")
    }

    @Test("a batch of the wrong size is a typed error")
    func wrongSize() throws {
        let inference = try InferencePolicy(try ActorCritic(spec: PolicySpec(observationDimension: 4, actionSpace: .discrete(2)), seed: 1))
        var random = SplitMix64(seed: 1)
        #expect(throws: ReinforcementLearningError.self) { _ = try inference.act([1, 2, 3], count: 1, random: &random) }
    }
}
