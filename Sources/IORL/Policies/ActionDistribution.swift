import Foundation
import IONN
import IOTensor

/// A batch of actions: one choice per row, or `dimension` values per row.
public enum ActionBatch: Sendable, Equatable {
    case discrete([Int])
    case continuous([Float], dimension: Int)

    /// How many actions it holds.
    public var count: Int {
        switch self {
        case .discrete(let choices): choices.count
        case .continuous(let values, let dimension): dimension > 0 ? values.count / dimension : 0
        }
    }

    /// Action `index`, as an environment takes it.
    public subscript(index: Int) -> Action {
        switch self {
        case .discrete(let choices): .discrete(choices[index])
        case .continuous(let values, let dimension): .continuous(Array(values[(index * dimension)..<((index + 1) * dimension)]))
        }
    }

    /// The rows at `indices`, in that order (a minibatch).
    public func rows(_ indices: [Int]) -> ActionBatch {
        switch self {
        case .discrete(let choices): .discrete(indices.map { choices[$0] })
        case .continuous(let values, let dimension):
            .continuous(indices.flatMap { values[($0 * dimension)..<(($0 + 1) * dimension)] }, dimension: dimension)
        }
    }
}

/// A policy's distribution over actions for a batch of observations.
public enum ActionDistribution {
    /// Categorical, from unnormalised log-probabilities `[batch, choices]`.
    case categorical(logits: Variable<Float>)
    /// Diagonal Gaussian with means `[batch, dimension]` and one log standard deviation per
    /// dimension, `[dimension]`.
    case gaussian(mean: Variable<Float>, logStandardDeviation: Variable<Float>)

    private static let halfLogTwoPi = Float(0.5 * log(2 * Double.pi))

    /// log π(a|s) of each row's action, `[batch]`, differentiable.
    public func logProbability(of actions: ActionBatch) throws -> Variable<Float> {
        switch (self, actions) {
        case (.categorical(let logits), .discrete(let choices)):
            guard choices.count == logits.shape[0], choices.allSatisfy({ (0..<logits.shape[1]).contains($0) }) else {
                throw ReinforcementLearningError.shapeMismatch("\(choices.count) discrete actions for \(logits.shape) logits")
            }
            let index = try Tensor<Int>(shape: [choices.count, 1], scalars: choices)
            return try logits.logSoftmax(alongAxis: 1).gathering(index, alongAxis: 1).reshaped([choices.count])
        case (.gaussian(let mean, let logStd), .continuous(let values, let dimension)):
            guard dimension == mean.shape[1], values.count == mean.shape[0] * dimension else {
                throw ReinforcementLearningError.shapeMismatch(
                    "\(values.count / max(dimension, 1))×\(dimension) actions for \(mean.shape) means")
            }
            let taken = Variable(try Tensor(shape: mean.shape, scalars: values))
            let standardized = try (taken - mean) / logStd.exp()
            let perDimension = try (standardized.squared() * -0.5 - logStd) - Self.halfLogTwoPi
            return try perDimension.sum(alongAxes: [1])
        default:
            throw ReinforcementLearningError.shapeMismatch("\(actions.count) actions of the wrong kind for this policy")
        }
    }

    /// The entropy of each row's distribution, `[batch]`, differentiable.
    public func entropy() throws -> Variable<Float> {
        switch self {
        case .categorical(let logits):
            let logProbabilities = try logits.logSoftmax(alongAxis: 1)
            return try (logProbabilities.exp() * logProbabilities).sum(alongAxes: [1]) * -1
        case .gaussian(let mean, let logStd):
            let perRow = logStd.sum() + Float(mean.shape[1]) * (0.5 + Self.halfLogTwoPi)
            return try perRow.broadcast(to: [mean.shape[0]])
        }
    }

    /// One action per row drawn from the distribution.
    public func sample(using random: inout SplitMix64) throws -> ActionBatch {
        switch self {
        case .categorical(let logits):
            let probabilities = try logits.value.softmax(alongAxis: 1).scalars
            let choices = logits.shape[1]
            return .discrete(
                (0..<logits.shape[0]).map { row in
                    let u = Float(random.unit())
                    var cumulative: Float = 0
                    for choice in 0..<choices {
                        cumulative += probabilities[row * choices + choice]
                        if u < cumulative { return choice }
                    }
                    return choices - 1
                })
        case .gaussian(let mean, let logStd):
            let standardDeviations = logStd.value.scalars.map { Foundation.exp($0) }
            let dimension = standardDeviations.count
            let means = mean.value.scalars
            return .continuous(
                means.indices.map { means[$0] + standardDeviations[$0 % dimension] * Float(random.standardNormal()) }, dimension: dimension)
        }
    }

    /// Each row's most likely action (for evaluation).
    public func mode() -> ActionBatch {
        switch self {
        case .categorical(let logits):
            let scalars = logits.value.scalars
            let choices = logits.shape[1]
            return .discrete(
                (0..<logits.shape[0]).map { row in
                    let slice = scalars[(row * choices)..<((row + 1) * choices)]
                    return slice.indices.max { slice[$0] < slice[$1] }! - row * choices
                })
        case .gaussian(let mean, _):
            return .continuous(mean.value.scalars, dimension: mean.shape[1])
        }
    }
}
