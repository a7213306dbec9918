import Foundation
import IONN
import IOTensor

/// A forward-only copy of an ``ActorCritic`` for acting: its layers as plain arrays, evaluated
/// without autograd and without a tensor per operation. Env runners act with it; the learner
/// keeps the differentiable network.
///
/// It draws the same actions as ``ActorCritic/act(_:count:greedy:random:)`` from the same random
/// stream, with the same log-probabilities and values up to float rounding. It is a snapshot:
/// build a new one after the network's weights change.
public struct InferencePolicy: Sendable {
    public let spec: PolicySpec
    private let actor: DenseStack
    private let critic: DenseStack
    /// The Gaussian head's standard deviations and their logs; empty for discrete actions.
    private let standardDeviations: [Float]
    private let logStandardDeviations: [Float]

    private static let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))

    /// A snapshot of `network`'s current weights.
    public init(_ network: ActorCritic) throws {
        spec = network.spec
        actor = try DenseStack(network.actor)
        critic = try DenseStack(network.critic)
        logStandardDeviations = network.logStandardDeviation?.value.scalars ?? []
        standardDeviations = logStandardDeviations.map { Foundation.exp($0) }
    }

    /// Actions for a flat batch of observations (`count` rows), drawn from the policy (or its
    /// most likely action when `greedy`), with their log-probabilities and the state values.
    public func act(_ observations: [Float], count: Int, greedy: Bool = false, random: inout SplitMix64) throws -> (
        actions: ActionBatch, logProbabilities: [Float], values: [Float]
    ) {
        let (actions, logProbabilities) = try choose(observations, count: count, greedy: greedy, random: &random)
        return (actions, logProbabilities, try values(of: observations, count: count))
    }

    /// Actions and their log-probabilities, without the state values.
    public func choose(_ observations: [Float], count: Int, greedy: Bool = false, random: inout SplitMix64) throws -> (
        actions: ActionBatch, logProbabilities: [Float]
    ) {
        let head = try actor.forward(observations, rows: count)
        let width = spec.headSize
        var logProbabilities = [Float](repeating: 0, count: count)
        if spec.actionSpace.choices != nil {
            var choices = [Int](repeating: 0, count: count)
            var logSoftmax = [Float](repeating: 0, count: width)
            for row in 0..<count {
                let logits = head[(row * width)..<((row + 1) * width)]
                let top = logits.max()!
                let normalizer = top + Foundation.log(logits.reduce(Float(0)) { $0 + Foundation.exp($1 - top) })
                for (index, logit) in logits.enumerated() { logSoftmax[index] = logit - normalizer }
                var choice = width - 1
                if greedy {
                    choice = 0
                    for index in 1..<width where logSoftmax[index] > logSoftmax[choice] { choice = index }
                } else {
                    let u = Float(random.unit())
                    var cumulative: Float = 0
                    for index in 0..<width {
                        cumulative += Foundation.exp(logSoftmax[index])
                        if u < cumulative {
                            choice = index
                            break
                        }
                    }
                }
                choices[row] = choice
                logProbabilities[row] = logSoftmax[choice]
            }
            return (.discrete(choices), logProbabilities)
        }
        var values = head
        for row in 0..<count {
            var total: Float = 0
            for index in 0..<width {
                let position = row * width + index
                if !greedy { values[position] += standardDeviations[index] * Float(random.standardNormal()) }
                let z = (values[position] - head[position]) / standardDeviations[index]
                total += -0.5 * z * z - logStandardDeviations[index] - Self.halfLogTwoPi
            }
            logProbabilities[row] = total
        }
        return (.continuous(values, dimension: width), logProbabilities)
    }

    /// The policy head's raw outputs (logits, Q-values or means), `count` rows of
    /// `PolicySpec.headSize`.
    public func head(_ observations: [Float], count: Int) throws -> [Float] { try actor.forward(observations, rows: count) }

    /// State values for a flat batch of observations.
    public func values(of observations: [Float], count: Int) throws -> [Float] { try critic.forward(observations, rows: count) }
}

/// Linear layers with tanh or ReLU between them, as plain arrays: weights stored input-major
/// (`[inputs × outputs]`) so each input adds a contiguous row into the outputs.
struct DenseStack: Sendable {
    struct Dense: Sendable {
        let inputs: Int
        let outputs: Int
        let weights: [Float]
        let bias: [Float]
    }

    let layers: [Dense]
    let activation: Activation

    /// The linear layers of `network` (linear layers with one activation, tanh or ReLU, after
    /// each one but the last).
    init(_ network: Sequential<Float>) throws {
        var layers: [Dense] = []
        var activations: Set<Activation> = []
        for (index, layer) in network.layers.enumerated() {
            if let linear = layer as? Linear<Float> {
                let (outputs, inputs) = (linear.weight.shape[0], linear.weight.shape[1])
                let weight = linear.weight.value.scalars
                var transposed = [Float](repeating: 0, count: inputs * outputs)
                for output in 0..<outputs {
                    for input in 0..<inputs { transposed[input * outputs + output] = weight[output * inputs + input] }
                }
                layers.append(
                    Dense(
                        inputs: inputs, outputs: outputs, weights: transposed,
                        bias: linear.bias?.value.scalars ?? [Float](repeating: 0, count: outputs)))
            } else if layer is Tanh<Float>, index % 2 == 1 {
                activations.insert(.tanh)
            } else if layer is ReLU<Float>, index % 2 == 1 {
                activations.insert(.relu)
            } else {
                throw ReinforcementLearningError.invalidConfiguration(
                    "an inference policy takes linear layers with tanh or ReLU between them, not \(type(of: layer))")
            }
        }
        guard activations.count <= 1 else {
            throw ReinforcementLearningError.invalidConfiguration("an inference policy takes one kind of activation, not \(activations)")
        }
        self.layers = layers
        activation = activations.first ?? .tanh
    }

    /// `rows` rows of inputs through every layer.
    func forward(_ input: [Float], rows: Int) throws -> [Float] {
        guard let first = layers.first, input.count == rows * first.inputs else {
            throw ReinforcementLearningError.shapeMismatch("\(input.count) values for \(rows) rows of \(layers.first?.inputs ?? 0)")
        }
        var current = input
        for (index, layer) in layers.enumerated() {
            var output = [Float](repeating: 0, count: rows * layer.outputs)
            let activates = index < layers.count - 1
            let relu = activation == .relu
            output.withUnsafeMutableBufferPointer { out in
                current.withUnsafeBufferPointer { x in
                    layer.weights.withUnsafeBufferPointer { w in
                        layer.bias.withUnsafeBufferPointer { b in
                            let n = layer.outputs
                            for row in 0..<rows {
                                let o = out.baseAddress! + row * n
                                for j in 0..<n { o[j] = b[j] }
                                for k in 0..<layer.inputs {
                                    let xk = x[row * layer.inputs + k]
                                    let wk = w.baseAddress! + k * n
                                    for j in 0..<n { o[j] += xk * wk[j] }
                                }
                                if activates && relu {
                                    for j in 0..<n { o[j] = Swift.max(o[j], 0) }
                                } else if activates {
                                    for j in 0..<n { o[j] = Foundation.tanh(o[j]) }
                                }
                            }
                        }
                    }
                }
            }
            current = output
        }
        return current
    }
}
