import IOTensor

/// Whether operations on variables are recorded for backward passes (task-local, on by default).
public enum GradientRecording {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording operations (inference, evaluation, optimizer steps): results
/// need no gradient and keep no graph, so intermediates are freed as soon as they are unused.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientRecording.$isEnabled.withValue(false) { try body() }
}

/// The async form of `withoutGradients(_:)`.
public func withoutGradients<R>(_ body: () async throws -> R) async rethrows -> R {
    try await GradientRecording.$isEnabled.withValue(false) { try await body() }
}

extension Variable {
    /// A result of an operation on `inputs`, recorded with `backward` when gradients are recorded
    /// and an input requires one.
    static func result(
        _ value: Tensor<Scalar>, _ name: String, _ inputs: [Variable], backward: @escaping (Tensor<Scalar>) throws -> [Tensor<Scalar>?]
    ) -> Variable {
        guard GradientRecording.isEnabled, inputs.contains(where: \.requiresGradient) else { return Variable(value) }
        return Variable(value, node: GradientNode(name, inputs: inputs, backward: backward))
    }

    /// Computes the gradient of this result with respect to every variable it came from that
    /// requires one, adding it to their ``gradient``s.
    ///
    /// Gradients of intermediate results are freed as the pass goes, and the graph is released at
    /// the end (so memory does not grow with the number of steps) unless `retainingGraph` is set.
    ///
    /// - Parameters:
    ///   - seed: the gradient of the final quantity with respect to this result, of its shape;
    ///     1 by default, which requires a single-element result (a loss).
    ///   - retainingGraph: keep the graph for another backward pass through it.
    ///   - onLeafGradient: called with each leaf (a parameter) as soon as this pass has added its
    ///     whole gradient, while the pass goes on with the rest of the graph — so that work on
    ///     finished gradients (a data-parallel allreduce) can overlap the remaining backward work.
    public func backward(
        seed: Tensor<Scalar>? = nil, retainingGraph: Bool = false, onLeafGradient: ((Variable) -> Void)? = nil
    ) throws {
        guard !graphReleased else { throw AutogradError.graphReleased }
        guard requiresGradient else { throw AutogradError.noGradientRequired }
        let start: Tensor<Scalar>
        if let seed {
            guard seed.shape == value.shape else {
                throw AutogradError.shapeMismatch(operation: "backward", expected: value.shape, actual: seed.shape)
            }
            start = seed
        } else {
            guard value.count == 1 else { throw AutogradError.nonScalarOutput(shape: value.shape) }
            // On the result's device, as PyTorch's ones_like: the whole backward pass then stays there.
            start = try Tensor(repeating: 1, shape: value.shape).to(value.device)
        }

        let order = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor<Scalar>] = [ObjectIdentifier(self): start]
        for variable in order.reversed() {
            guard let gradient = pending.removeValue(forKey: ObjectIdentifier(variable)) else { continue }
            guard let node = variable.node else {
                if variable.requiresGradient {
                    try variable.accumulate(gradient)
                    onLeafGradient?(variable)
                }
                continue
            }
            let inputGradients = try node.backward(gradient)
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard input.requiresGradient, let inputGradient else { continue }
                guard inputGradient.shape == input.shape else {
                    throw AutogradError.shapeMismatch(
                        operation: "backward of \(node.name)", expected: input.shape, actual: inputGradient.shape)
                }
                let key = ObjectIdentifier(input)
                pending[key] = try pending[key].map { try $0 + inputGradient } ?? inputGradient
            }
            if !retainingGraph {
                variable.node = nil
                variable.graphReleased = true
            }
        }
    }

    /// The variables this one depends on through recorded operations, each after its inputs.
    private func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited: Set<ObjectIdentifier> = []
        // Iterative depth-first search: deep graphs (long sequences) must not overflow the stack.
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (variable, expanded) = stack.popLast() {
            if expanded {
                order.append(variable)
                continue
            }
            guard visited.insert(ObjectIdentifier(variable)).inserted else { continue }
            stack.append((variable, true))
            for input in variable.node?.inputs ?? [] where input.requiresGradient && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}
