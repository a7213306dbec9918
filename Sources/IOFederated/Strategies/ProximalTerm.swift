import IONN
import IOTensor

/// FedProx's proximal term for a client's loss: μ/2 · Σ ‖w − w_global‖² over the model's
/// parameters, whose gradient μ·(w − w_global) pulls local training back towards the global
/// model.
///
/// ```swift
/// let loss = try task + ProximalTerm.loss(model.parameters, global: start, mu: settings.proximalMu)
/// ```
public enum ProximalTerm {
    /// The term for `parameters` against `global`, tensors of the same shapes in the same order.
    ///
    /// - Throws: ``FederatedError/shapeMismatch(_:)`` when the lists or shapes differ.
    public static func loss(_ parameters: [Variable<Float>], global: [Tensor<Float>], mu: Double) throws -> Variable<Float> {
        guard parameters.count == global.count, zip(parameters, global).allSatisfy({ $0.shape == $1.shape }) else {
            throw FederatedError.shapeMismatch(
                "a proximal term for \(parameters.map(\.shape)) against \(global.map(\.shape))")
        }
        var total = Variable(Tensor<Float>(scalar: 0))
        for (parameter, anchor) in zip(parameters, global) {
            total = try total + (try parameter - Variable(try anchor.to(parameter.value.device))).squared().sum()
        }
        return total * Float(mu / 2)
    }
}
