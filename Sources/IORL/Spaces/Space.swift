import IOTensor

/// The set an observation or an action belongs to, as Gymnasium's `spaces.Discrete` and
/// `spaces.Box`.
///
/// ```swift
/// let actions = Space.discrete(2)                              // CartPole: push left or right
/// let torque = Space.box(low: [-2], high: [2])                 // Pendulum
/// actions.contains(.discrete(1))                               // true
/// ```
public enum Space: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The integers 0..<n.
    case discrete(Int)
    /// Vectors whose element i lies in [low[i], high[i]] (infinite bounds allowed).
    case box(low: [Float], high: [Float])

    /// How many numbers an element takes in a flat vector: 1 for a discrete space.
    public var dimension: Int {
        switch self {
        case .discrete: 1
        case .box(let low, _): low.count
        }
    }

    /// The number of choices of a discrete space; `nil` for a box.
    public var choices: Int? {
        if case .discrete(let n) = self { return n }
        return nil
    }

    /// Whether `action` is an element of this space: a discrete action in range, or a
    /// continuous one of the box's dimension whose values are finite and within the bounds.
    public func contains(_ action: Action) -> Bool {
        switch (self, action) {
        case (.discrete(let n), .discrete(let choice)): return (0..<n).contains(choice)
        case (.box(let low, let high), .continuous(let values)):
            guard values.count == low.count else { return false }
            for index in values.indices where !(values[index].isFinite && values[index] >= low[index] && values[index] <= high[index]) {
                return false
            }
            return true
        default: return false
        }
    }

    /// `action` with each value of a continuous action clipped to the box (what an agent does to
    /// a Gaussian policy's sample before stepping); discrete actions are returned as they are.
    public func clipped(_ action: Action) -> Action {
        guard case .box(let low, let high) = self, case .continuous(let values) = action, values.count == low.count else { return action }
        return .continuous(values.indices.map { Swift.min(Swift.max(values[$0], low[$0]), high[$0]) })
    }

    /// A uniformly drawn element (for a box with an infinite bound, a standard normal draw on that
    /// axis, as Gymnasium does for unbounded boxes).
    public func sample(using random: inout SplitMix64) -> Action {
        switch self {
        case .discrete(let n): return .discrete(Int(random.next() % UInt64(Swift.max(n, 1))))
        case .box(let low, let high):
            return .continuous(
                low.indices.map { index in
                    guard low[index].isFinite, high[index].isFinite else { return Float(random.standardNormal()) }
                    return Float(random.uniform(Double(low[index]), Double(high[index])))
                })
        }
    }

    public var description: String {
        switch self {
        case .discrete(let n): "Discrete(\(n))"
        case .box(let low, _): "Box(\(low.count))"
        }
    }
}

/// An action: a choice among a discrete space's integers, or a vector in a box.
public enum Action: Sendable, Hashable, Codable, CustomStringConvertible {
    case discrete(Int)
    case continuous([Float])

    public var description: String {
        switch self {
        case .discrete(let choice): "\(choice)"
        case .continuous(let values): "\(values)"
        }
    }
}
