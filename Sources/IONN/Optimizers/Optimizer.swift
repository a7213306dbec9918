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
}

extension Optimizer {
    /// Clears every parameter's gradient, ready for the next backward pass.
    public func zeroGradients() {
        for parameter in parameters { parameter.gradient = nil }
    }
}

/// Scales the gradients of `parameters` together so that their global L2 norm is at most
/// `maxNorm`, and returns the norm they had (as PyTorch's `clip_grad_norm_`).
@discardableResult
public func clipGradientNorm<Scalar>(_ parameters: [Variable<Scalar>], maxNorm: Double) throws -> Double {
    let total = parameters.reduce(0.0) { sum, parameter in
        guard let gradient = parameter.gradient else { return sum }
        return sum + gradient.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
    }.squareRoot()
    guard total > maxNorm, total > 0 else { return total }
    let scale = Scalar(maxNorm / (total + 1e-6))
    for parameter in parameters {
        if let gradient = parameter.gradient { parameter.gradient = gradient * scale }
    }
    return total
}

extension Variable {
    /// The gradient as one contiguous buffer, for optimizers.
    func withGradient(_ body: (UnsafeBufferPointer<Scalar>) throws -> Void) rethrows {
        guard let gradient else { return }
        try gradient.withUnsafeBufferPointer(body)
    }
}
