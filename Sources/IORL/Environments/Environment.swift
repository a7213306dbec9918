/// A reinforcement-learning environment with Gymnasium's API: `reset(seed:)` starts an episode
/// and returns its first observation; `step(_:)` applies an action and returns the next
/// observation, the reward, and whether the episode ended (`terminated`: a terminal state of the
/// task; `truncated`: cut short, by a time limit, so the value of the next state still counts).
///
/// Environments are values: a copy is an independent environment in the same state. Write one
/// as a struct and register it by name (``EnvironmentCatalog``) so that env runners in any
/// process of a cluster can build it.
///
/// ```swift
/// var cartPole = CartPole()
/// var observation = cartPole.reset(seed: 7)
/// let step = try cartPole.step(.discrete(1))
/// ```
public protocol Environment: Sendable {
    /// The observations this environment returns.
    var observationSpace: Space { get }
    /// The actions it accepts.
    var actionSpace: Space { get }
    /// Starts an episode: seeded, the same seed gives the same first state; with `nil` the
    /// environment goes on with its own generator (seeded by the last seed given).
    mutating func reset(seed: UInt64?) -> [Float]
    /// Applies `action`, which must be in ``actionSpace``.
    ///
    /// - Throws: ``EnvironmentError/invalidAction(_:space:)`` for an action outside the space,
    ///   ``EnvironmentError/needsReset`` before the first reset and after an episode has ended.
    mutating func step(_ action: Action) throws(EnvironmentError) -> Step
}

/// What one step of an environment returns.
public struct Step: Sendable, Equatable {
    /// The observation after the action.
    public var observation: [Float]
    /// The reward for the action.
    public var reward: Double
    /// The episode reached a terminal state of the task (the pole fell, the car reached the flag).
    public var terminated: Bool
    /// The episode was cut short (a time limit); the next state's value still counts.
    public var truncated: Bool

    public init(observation: [Float], reward: Double, terminated: Bool, truncated: Bool) {
        self.observation = observation
        self.reward = reward
        self.terminated = terminated
        self.truncated = truncated
    }

    /// Whether the episode is over, either way.
    public var isDone: Bool { terminated || truncated }
}

/// Why an environment, a wrapper or a vector of environments refused a call.
public enum EnvironmentError: Error, Equatable, CustomStringConvertible {
    /// The action is not an element of the environment's action space.
    case invalidAction(Action, space: Space)
    /// `step` before the first `reset`, or after the episode ended.
    case needsReset
    /// A vector of environments was given `given` actions for `expected` environments.
    case actionCount(expected: Int, given: Int)
    /// No environment is registered under the name.
    case unknownEnvironment(String)
    /// A parameter is out of its range (a time limit of 0, an empty vector).
    case invalidParameter(String)

    public var description: String {
        switch self {
        case .invalidAction(let action, let space): "action \(action) is not in the action space \(space)"
        case .needsReset: "the environment needs reset(seed:): it was never reset, or its episode has ended"
        case .actionCount(let expected, let given): "\(given) actions for \(expected) environments"
        case .unknownEnvironment(let name): "no environment is registered as \"\(name)\""
        case .invalidParameter(let reason): "invalid parameter: \(reason)"
        }
    }
}
