import IOTensor

/// Updates parameters from their gradients.
///
/// ```swift
/// let optimizer = Adam(model.parameters, learningRate: 1e-3)
/// for batch in batches {
///     optimizer.zeroGradients()
///     try Loss.crossEntropy(logits: model(batch.inputs), labels: batch.labels).backward()
///     try optimizer.step()
/// }
/// ```
public protocol Optimizer<Scalar>: AnyObject {
    associatedtype Scalar: LinearAlgebraScalar
    /// The parameters it updates.
    var parameters: [Variable<Scalar>] { get }
    /// The step size (changed by a schedule between steps).
    var learningRate: Double { get set }
    /// Updates every parameter that has a gradient.
    func step() throws
    /// The optimizer's running state (moments, velocities, the step count) by name, so that a
    /// run resumed from a checkpoint continues exactly.
    func stateDictionary() -> [String: Tensor<Scalar>]
    /// Restores state saved by ``stateDictionary()`` from an optimizer over the same parameters.
    ///
    /// - Throws: ``StateDictionaryError`` when a tensor is missing or mis-shaped.
    func loadStateDictionary(_ state: [String: Tensor<Scalar>]) throws(StateDictionaryError)
}

extension Optimizer {
    /// Saves ``stateDictionary()`` and the learning rate as a safetensors file.
    public func save(to path: String) throws {
        try Safetensors.write(stateDictionary(), metadata: ["learningRate": "\(learningRate)"], to: path)
    }

    /// Loads state saved by ``save(to:)``.
    public func load(from path: String) throws {
        let archive = try Safetensors.read(contentsOf: path)
        var state: [String: Tensor<Scalar>] = [:]
        for name in archive.tensors.keys { state[name] = try archive.tensor(name, as: Scalar.self) }
        try loadStateDictionary(state)
        if let rate = archive.metadata["learningRate"].flatMap(Double.init) { learningRate = rate }
    }

    /// Per-parameter buffers (`prefix.i`); buffers not yet created are left out.
    func buffers(_ prefix: String, _ values: [Tensor<Scalar>?]) -> [String: Tensor<Scalar>] {
        var state: [String: Tensor<Scalar>] = [:]
        for (index, buffer) in values.enumerated() {
            if let buffer { state["\(prefix).\(index)"] = buffer }
        }
        return state
    }

    /// Buffers saved by ``buffers(_:_:)``; absent ones stay nil when `optional`.
    func loadBuffers(
        _ prefix: String, from state: [String: Tensor<Scalar>], optional: Bool = false
    ) throws(StateDictionaryError) -> [Tensor<Scalar>?] {
        var loaded: [Tensor<Scalar>?] = []
        for (index, parameter) in parameters.enumerated() {
            let name = "\(prefix).\(index)"
            guard let tensor = state[name] else {
                if !optional { throw .missing(name: name) }
                loaded.append(nil)
                continue
            }
            guard tensor.shape == parameter.shape else { throw .shapeMismatch(name: name, expected: parameter.shape, actual: tensor.shape) }
            loaded.append(tensor)
        }
        return loaded
    }

    /// Clears every parameter's gradient, ready for the next backward pass.
    public func zeroGradients() {
        for parameter in parameters { parameter.gradient = nil }
    }
}

/// Scales the gradients of `parameters` together so that their global L2 norm is at most
/// `maxNorm`, and returns the norm they had (as PyTorch's `clip_grad_norm_`).
@discardableResult
public func clipGradientNorm<Scalar>(_ parameters: [Variable<Scalar>], maxNorm: Double) throws -> Double {
    // One tensor reduction per parameter (vectorized, and on the gradient's own device): a loop
    // over `scalars` here runs unspecialized for the generic scalar, one dynamic cast per element.
    var squares = 0.0
    for parameter in parameters {
        guard let gradient = parameter.gradient else { continue }
        squares += Double(try (gradient * gradient).sum().scalar)
    }
    let total = squares.squareRoot()
    guard total > maxNorm, total > 0 else { return total }
    let scale = Scalar(maxNorm / (total + 1e-6))
    for parameter in parameters {
        if let gradient = parameter.gradient { parameter.gradient = gradient * scale }
    }
    return total
}
