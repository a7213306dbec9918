/// An optimizer's update of one parameter, fused into one pass over the parameter, its gradient
/// and its state buffers (as PyTorch's fused and foreach optimizers do): applied with
/// ``Tensor/applyUpdate(_:gradient:states:)`` on the CPU or on the parameter's device.
///
/// `step` below is the gradient plus `decay` times the parameter (L2 weight decay).
public enum ParameterUpdate: Sendable, Equatable {
    /// θ ← θ − rate·step, or with momentum v ← μv + step and θ ← θ − rate·v (Nesterov:
    /// θ ← θ − rate·(step + μv)). States: none, or `[velocity]` when `momentum` is not 0.
    case sgd(rate: Double, momentum: Double, nesterov: Bool, decay: Double)
    /// Adam: θ ← θ − decoupledDecay·θ; m ← β₁m + (1−β₁)step; v ← β₂v + (1−β₂)step²;
    /// θ ← θ − stepSize·m/(√v/root2 + ε), where `stepSize` and `root2` carry the bias
    /// corrections. States: `[m, v]`.
    case adam(beta1: Double, beta2: Double, stepSize: Double, root2: Double, epsilon: Double, decay: Double, decoupledDecay: Double)
    /// RMSProp: s ← αs + (1−α)step²; u = step/(√s + ε); θ ← θ − rate·u, or with momentum
    /// v ← μv + u and θ ← θ − rate·v. States: `[s]`, or `[s, velocity]` when `momentum` is not 0.
    case rmsProp(rate: Double, alpha: Double, epsilon: Double, decay: Double, momentum: Double)

    /// The number of state buffers the update reads and writes.
    public var stateCount: Int {
        switch self {
        case .sgd(_, let momentum, _, _): momentum != 0 ? 1 : 0
        case .adam: 2
        case .rmsProp(_, _, _, _, let momentum): momentum != 0 ? 2 : 1
        }
    }
}

extension Tensor where Scalar: LinearAlgebraScalar {
    /// Applies `update` to this parameter with `gradient`, updating `states` (each shaped like
    /// the parameter; see ``ParameterUpdate`` for which) as well.
    ///
    /// On the CPU the pass writes this tensor and the states in place when nothing else shares
    /// their buffers. On a device one kernel reads the parameter, gradient and states and writes
    /// fresh buffers, which replace them; host operands (states made with `zeros`, say) move to
    /// the device first.
    ///
    /// ```swift
    /// var states = [try Tensor<Float>.zeros(weights.shape)]
    /// try weights.applyUpdate(.sgd(rate: 0.1, momentum: 0.9, nesterov: false, decay: 0), gradient: g, states: &states)
    /// ```
    ///
    /// - Throws: ``TensorError/shapeMismatch(operation:lhs:rhs:reason:)`` when the gradient or a
    ///   state has another shape, or the number of states is not the update's.
    public mutating func applyUpdate(_ update: ParameterUpdate, gradient: Tensor, states: inout [Tensor]) throws(TensorError) {
        guard gradient.shape == shape else {
            throw .shapeMismatch(operation: "applyUpdate", lhs: shape, rhs: gradient.shape, reason: "the gradient has another shape")
        }
        guard states.count == update.stateCount else {
            throw .invalidArgument(operation: "applyUpdate", reason: "\(update) takes \(update.stateCount) states, got \(states.count)")
        }
        if let bad = states.first(where: { $0.shape != shape }) {
            throw .shapeMismatch(operation: "applyUpdate", lhs: shape, rhs: bad.shape, reason: "a state has another shape")
        }
        let parameter = self
        if let updated = DeviceDispatch.run(
            "applyUpdate", on: backend,
            { backend in
                let outputs = try (0...states.count).map { _ in try Tensor.allocated(on: backend, shape: shape, operation: "applyUpdate") }
                if count > 0 {
                    let inputs = try ([parameter.contiguous(), gradient.contiguous()] + states.map { $0.contiguous() }).map {
                        try $0.operand(on: backend, broadcastTo: shape)
                    }
                    try backend.update(update, dtype: Scalar.dtype, count: count, inputs: inputs, outputs: outputs.map(\.outputStorage))
                }
                return outputs
            })
        {
            self = updated[0]
            states = Array(updated.dropFirst())
            return
        }
        updateOnHost(update, gradient: gradient, states: &states)
    }

    /// The CPU pass, in place in this tensor's and the states' (unique, contiguous) buffers.
    private mutating func updateOnHost(_ update: ParameterUpdate, gradient: Tensor, states: inout [Tensor]) {
        // Unique, contiguous state buffers, written through raw pointers while `states` holds them.
        let pointers: [UnsafeMutableRawPointer] = states.indices.map { index in
            states[index].withUnsafeMutableBufferPointer { UnsafeMutableRawPointer($0.baseAddress!) }
        }
        let source = gradient.contiguous()
        source.withUnsafeBufferPointer { g in
            withUnsafeMutableBufferPointer { theta in
                if Scalar.self == Float.self {
                    theta.withMemoryRebound(to: Float.self) { t in
                        g.withMemoryRebound(to: Float.self) { g in
                            Self.run(update, t, g, pointers.map { $0.assumingMemoryBound(to: Float.self) })
                        }
                    }
                } else {
                    theta.withMemoryRebound(to: Double.self) { t in
                        g.withMemoryRebound(to: Double.self) { g in
                            Self.run(update, t, g, pointers.map { $0.assumingMemoryBound(to: Double.self) })
                        }
                    }
                }
            }
        }
        withExtendedLifetime(states) {}
    }

    @inline(__always)
    private static func run<T: BinaryFloatingPoint>(
        _ update: ParameterUpdate, _ t: UnsafeMutableBufferPointer<T>, _ g: UnsafeBufferPointer<T>, _ s: [UnsafeMutablePointer<T>]
    ) {
        switch update {
        case .sgd(let rate, let momentum, let nesterov, let decay):
            UpdateKernels.sgd(t, g, velocity: s.first, rate: T(rate), momentum: T(momentum), nesterov: nesterov, decay: T(decay))
        case .adam(let beta1, let beta2, let stepSize, let root2, let epsilon, let decay, let decoupledDecay):
            UpdateKernels.adam(
                t, g, s[0], s[1], beta1: T(beta1), beta2: T(beta2), stepSize: T(stepSize), root2: T(root2), epsilon: T(epsilon),
                decay: T(decay), decoupledDecay: T(decoupledDecay))
        case .rmsProp(let rate, let alpha, let epsilon, let decay, let momentum):
            UpdateKernels.rmsProp(
                t, g, s[0], s.count > 1 ? s[1] : nil, rate: T(rate), alpha: T(alpha), epsilon: T(epsilon), decay: T(decay),
                momentum: T(momentum))
        }
    }
}
