import IOTensor

/// A tensor that records the operations made with it, so that ``backward(seed:retainingGraph:onLeafGradient:)``
/// can compute the gradient of a result with respect to every variable it came from.
///
/// Variables are reference types, like the tensors of PyTorch's autograd: a model's parameters
/// are variables whose ``gradient`` accumulates over backward passes until an optimizer steps and
/// clears it. Operations on variables (`+`, ``matmul(_:)``, ``relu()``, …) return new variables
/// linked to their inputs; inside `withoutGradients(_:)` nothing is recorded.
///
/// ```swift
/// let w = Variable(try Tensor<Double>(shape: [2], scalars: [1, 2]), requiresGradient: true)
/// let x = Variable(try Tensor<Double>(shape: [2], scalars: [3, 4]))
/// let y = try (w * x).sum()        // 11
/// try y.backward()
/// w.gradient                       // [3, 4]
/// ```
///
/// A variable is not `Sendable`: it and the graph behind it belong to one task at a time.
public final class Variable<Scalar: LinearAlgebraScalar> {
    /// The current value.
    public private(set) var value: Tensor<Scalar>
    /// The accumulated gradient of the outputs backward ran from, with this variable's shape;
    /// nil until a backward pass reaches it. Set it to nil (or use an optimizer's
    /// `zeroGradients()`) before the next step.
    public var gradient: Tensor<Scalar>?
    /// Whether gradients flow to this variable (true for parameters and for every result of an
    /// operation on such a variable while gradients are recorded).
    public let requiresGradient: Bool
    /// How this variable was computed; nil for a leaf (an input or a parameter) and after a
    /// backward pass released the graph.
    var node: GradientNode<Scalar>?
    /// Set when a backward pass released the graph behind this result.
    var graphReleased = false

    /// A leaf variable holding `value`.
    public init(_ value: Tensor<Scalar>, requiresGradient: Bool = false) {
        self.value = value
        self.requiresGradient = requiresGradient
    }

    /// A result of an operation: records `node` when gradients are recorded and an input needs one.
    init(_ value: Tensor<Scalar>, node: GradientNode<Scalar>?) {
        self.value = value
        self.node = node
        requiresGradient = node != nil
    }

    /// The shape of the value.
    public var shape: [Int] { value.shape }

    /// Whether this is a leaf: made directly rather than computed from other variables.
    public var isLeaf: Bool { node == nil && !graphReleased }

    /// The value as a new leaf that does not require a gradient: what follows from it does not
    /// reach the variables this one came from.
    public func detached() -> Variable { Variable(value) }

    /// Replaces the value of a leaf (an optimizer's step, loading saved weights), keeping its shape.
    ///
    /// - Throws: ``AutogradError/shapeMismatch(operation:expected:actual:)`` when `newValue` has
    ///   another shape; ``AutogradError/notALeaf`` for a computed variable.
    public func assign(_ newValue: Tensor<Scalar>) throws(AutogradError) {
        guard node == nil, !graphReleased else { throw .notALeaf }
        guard newValue.shape == value.shape else {
            throw .shapeMismatch(operation: "assign", expected: value.shape, actual: newValue.shape)
        }
        value = newValue
    }

    /// Applies an optimizer's fused update to a leaf's value: in place on the CPU when nothing
    /// else shares its buffer, as one kernel on a device.
    func applyUpdate(_ update: ParameterUpdate, gradient: Tensor<Scalar>, states: inout [Tensor<Scalar>]) throws {
        try value.applyUpdate(update, gradient: gradient, states: &states)
    }

    /// Adds `delta` to the accumulated gradient.
    func accumulate(_ delta: Tensor<Scalar>) throws {
        if let existing = gradient {
            gradient = try existing + delta
        } else {
            gradient = delta.isContiguous ? delta : delta.contiguous()
        }
    }
}

extension Variable: CustomStringConvertible {
    public var description: String {
        "Variable(\(value)\(requiresGradient ? ", requiresGradient" : ""))"
    }
}

/// The record of one operation: its inputs and how to turn the gradient of its output into
/// gradients of its inputs (nil for an input that needs none).
final class GradientNode<Scalar: LinearAlgebraScalar> {
    let name: String
    let inputs: [Variable<Scalar>]
    let backward: (Tensor<Scalar>) throws -> [Tensor<Scalar>?]

    init(_ name: String, inputs: [Variable<Scalar>], backward: @escaping (Tensor<Scalar>) throws -> [Tensor<Scalar>?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// An error of the autograd layer.
public enum AutogradError: Error, Equatable, CustomStringConvertible {
    /// `backward()` without a seed on a result that is not a single number.
    case nonScalarOutput(shape: [Int])
    /// `backward()` on a result that needs no gradient (nothing it came from requires one, or it
    /// was computed without recording).
    case noGradientRequired
    /// A second backward pass through a graph the first one released.
    case graphReleased
    /// An operation that only a leaf (an input or a parameter) allows.
    case notALeaf
    /// A tensor whose shape is not the one expected.
    case shapeMismatch(operation: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case .nonScalarOutput(let shape):
            "backward() needs a seed gradient for an output of shape \(shape); only a single-element output has an implicit seed of 1"
        case .noGradientRequired: "backward() on a result that does not require a gradient"
        case .graphReleased:
            "the graph behind this result was released by an earlier backward pass; pass retainingGraph: true to the first one"
        case .notALeaf: "only a leaf variable (an input or a parameter) can be assigned"
        case .shapeMismatch(let operation, let expected, let actual): "\(operation): expected shape \(expected), got \(actual)"
        }
    }
}
