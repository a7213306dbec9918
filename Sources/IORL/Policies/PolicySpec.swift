import IORuntime
import IORuntimeTensor
import IOTensor

/// The shape of an actor-critic policy: what it observes, what it does, and its hidden layers.
/// Learners and env runners build the same network from it and exchange only weights.
///
/// ```swift
/// let spec = PolicySpec(observationDimension: 4, actionSpace: .discrete(2), hiddenSizes: [64, 64])
/// ```
public struct PolicySpec: Sendable, Equatable, WireCodable {
    /// The length of an observation vector.
    public var observationDimension: Int
    /// The actions the policy chooses among: discrete (a categorical head) or a box (a
    /// diagonal Gaussian head with a learned, state-independent standard deviation).
    public var actionSpace: Space
    /// The widths of the hidden layers of both the policy and the value network.
    public var hiddenSizes: [Int]
    /// The nonlinearity after each hidden layer.
    public var activation: Activation
    /// The log standard deviation a Gaussian head starts with.
    public var initialLogStandardDeviation: Float

    public init(
        observationDimension: Int, actionSpace: Space, hiddenSizes: [Int] = [64, 64], activation: Activation = .tanh,
        initialLogStandardDeviation: Float = 0
    ) {
        self.observationDimension = observationDimension
        self.actionSpace = actionSpace
        self.hiddenSizes = hiddenSizes
        self.activation = activation
        self.initialLogStandardDeviation = initialLogStandardDeviation
    }

    /// The spec for an environment's spaces.
    public init(for environment: any Environment, hiddenSizes: [Int] = [64, 64], activation: Activation = .tanh) {
        self.init(
            observationDimension: environment.observationSpace.dimension, actionSpace: environment.actionSpace, hiddenSizes: hiddenSizes,
            activation: activation)
    }

    /// How many numbers the policy head outputs: a logit per choice, or a mean per dimension.
    var headSize: Int { actionSpace.choices ?? actionSpace.dimension }

    /// Checks the spec describes a network that can be built.
    func validate() throws(ReinforcementLearningError) {
        guard observationDimension > 0, headSize > 0, hiddenSizes.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration("a policy needs positive observation, action and hidden sizes: \(self)")
        }
    }
}

/// The nonlinearity between a policy network's layers.
public enum Activation: String, Sendable, Equatable, Codable, CaseIterable {
    /// tanh, Stable-Baselines3's default for PPO and A2C policies.
    case tanh
    /// max(0, x), Stable-Baselines3's default for DQN's Q-network.
    case relu
}

/// A policy's weights with the iteration that produced them, as sent to env runners.
public struct PolicyWeights: Sendable, WireSerializable {
    /// Increases with each update; a runner that already has this version keeps its network.
    public var version: Int
    /// The network's state dictionary (`actor.N.weight`, `critic.N.bias`, `logStd`).
    public var tensors: [String: Tensor<Float>]
    /// The merged observation statistics runners that normalise observations adopt.
    public var observationStatistics: RunningStatistics?

    public init(version: Int, tensors: [String: Tensor<Float>], observationStatistics: RunningStatistics? = nil) {
        self.version = version
        self.tensors = tensors
        self.observationStatistics = observationStatistics
    }

    public func encode(to encoder: inout WireEncoder) {
        encoder.writeLength(version)
        tensors.encode(to: &encoder)
        encoder.write(observationStatistics != nil)
        observationStatistics?.encode(to: &encoder)
    }

    public init(from decoder: inout WireDecoder) throws(WireError) {
        version = try decoder.readLength()
        tensors = try [String: Tensor<Float>](from: &decoder)
        observationStatistics = try decoder.read(Bool.self) ? try RunningStatistics(from: &decoder) : nil
    }
}
